/* The consumer project's program: calls the public API through the installed libvae.so and
 * prints one line per call for tests/e2e/test_install_and_help.sh to check.
 * usage: consumer MISSING_FILE */
#include <stdio.h>

#include "vae/common.h"
#include "vae/corpus.h"
#include "vae/rng.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer MISSING_FILE\n");
        return 2;
    }
    printf("version %s\n", vae_version());

    vae_corpus *c = NULL;
    const int rc = vae_corpus_open(&c, argv[1]);
    printf("open %d %s\n", rc, vae_error_message());
    vae_corpus_free(c);

    /* A permutation of 0..99 takes every value once. */
    int seen[100] = {0}, distinct = 0;
    for (int64_t i = 0; i < 100; i++) {
        const int64_t p = vae_permute(7, 3, 100, i);
        if (p >= 0 && p < 100 && !seen[p]++)
            distinct++;
    }
    printf("permutation %d distinct of 100\n", distinct);
    return 0;
}
