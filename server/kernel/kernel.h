/* SPDX-License-Identifier: MIT */
/*
 * kernel.h -- the kernel data path (--proxy-mode nftables): follows the
 * registry and keeps the nftables table "clusterip" in step with it, one
 * atomic transaction per turn of the loop; a full resync at start and
 * on SIGHUP; the table deleted at exit. Needs CAP_NET_ADMIN.
 */
#ifndef CIP_KERNEL_H
#define CIP_KERNEL_H

struct runtime;

/*
 * Starts the kernel path when rt->proxy_mode is nftables or a service
 * may ask for it by annotation; builds the whole table. Returns 0, or
 * -1 (logged) when the table cannot be programmed.
 */
int	kernel_init(struct runtime *rt);
/* Rebuilds the whole table from the registry (SIGHUP). */
void	kernel_resync(void);
/* Deletes the table and stops following the registry. */
void	kernel_shutdown(void);

#endif
