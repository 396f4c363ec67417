/* SPDX-License-Identifier: MIT */
/*
 * replay.c -- runs a fuzz target over every file of its corpus directories
 * (arguments, else $FUZZ_CORPUS, else the directory compiled in as
 * FUZZ_DEFAULT_CORPUS), so plain `make check` replays the corpora
 * without libFuzzer. Not linked when building with --with-fuzzer.
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
replay_file(const char *path)
{
	FILE *fp;
	uint8_t *buf;
	long len;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	/* An exact-size heap copy, so ASan sees reads past the end. */
	if ((buf = malloc(len ? (size_t)len : 1)) == NULL ||
	    fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *de;
	DIR *dir;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((dir = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay_path(sub, count) != 0)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *env;
	int i, count = 0, rc = 0;

	if (argc < 2) {
		if ((env = getenv("FUZZ_CORPUS")) == NULL) {
#ifdef FUZZ_DEFAULT_CORPUS
			env = FUZZ_DEFAULT_CORPUS;
#else
			fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n",
			    argv[0]);
			return 2;
#endif
		}
		rc = replay_path(env, &count);
	}
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			rc = -1;
	printf("%s: replayed %d inputs\n", argv[0], count);
	if (count == 0)
		return 1;
	return rc == 0 ? 0 : 1;
}
