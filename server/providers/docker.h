/* SPDX-License-Identifier: MIT */
/* docker.h -- Docker Engine API provider: labelled containers become pods. */
#ifndef CIP_DOCKER_H
#define CIP_DOCKER_H

struct runtime;

/* Starts following --docker's socket when set; a no-op otherwise. 0 or -1. */
int	docker_init(struct runtime *);
void	docker_shutdown(void);

#endif
