/* The split evaluation of evaluate.h, shared by the trainer and vae-infer eval. */
#include "vae/evaluate.h"

#include "vae/family.h"

#include <stdlib.h>
#include <string.h>

struct vae_evaluator {
    int64_t batch;   /* the model's capacity */
    size_t num_sums;
    double *sums;
    int64_t *rows; /* [the model's capacity]: the rows of a batch */
    vae_docs docs;
    vae_seqs seqs;
};

void vae_evaluator_free(vae_evaluator *e)
{
    if (!e)
        return;
    free(e->sums);
    free(e->rows);
    vae_docs_free(&e->docs);
    vae_seqs_free(&e->seqs);
    free(e);
}

int vae_evaluator_new(vae_evaluator **out, const vae_model *m)
{
    vae_evaluator *e = vae_calloc_array(1, sizeof *e);
    *out = NULL;
    if (!e)
        return VAE_ERR_NOMEM;
    vae_docs_init(&e->docs);
    vae_seqs_init(&e->seqs);
    e->batch = vae_model_max_batch(m);
    e->num_sums = vae_model_eval_sums_len(m);
    if (!(e->sums = vae_calloc_array(e->num_sums, sizeof *e->sums)) ||
        !(e->rows = vae_malloc_array((size_t)e->batch, sizeof *e->rows))) {
        vae_evaluator_free(e);
        return VAE_ERR_NOMEM;
    }
    *out = e;
    return VAE_OK;
}

int vae_evaluate_split(vae_evaluator *e, vae_model *m, vae_corpus *corpus, const char *split, int samples,
                       vae_comm *comm, vae_figures *f, int *who)
{
    const int rank = vae_comm_rank(comm), ranks = vae_comm_size(comm);
    const int64_t cap = e->batch;
    const int seqs = vae_model_family(m)->unit == VAE_UNIT_SEQS;
    const vae_batch batch = {.docs = &e->docs, .seqs = &e->seqs};
    vae_split_info info;
    memset(e->sums, 0, e->num_sums * sizeof *e->sums);
    int rc = vae_corpus_split_info(corpus, split, &info);
    if (rc == VAE_OK && (vae_model_max_batch(m) != cap || vae_model_eval_sums_len(m) != e->num_sums))
        rc = vae_fail(VAE_ERR_ARG, "evaluation of a model of another size than the evaluator's");
    /* A batch of cap sequences holds at most cap * max_length tokens: sized once, outside the loop. */
    if (rc == VAE_OK && seqs && info.has_seqs)
        rc = vae_model_reserve_tokens(m, cap * info.max_length);
    const int64_t D = rc != VAE_OK ? 0 : seqs ? info.num_seqs : info.num_docs;
    const int64_t lo = D * rank / ranks, hi = D * (rank + 1) / ranks;
    if (rc == VAE_OK && seqs && !info.has_seqs)
        rc = vae_corpus_read_seqs(corpus, split, e->rows, 0, &e->seqs); /* its error names the file */
    for (int64_t a = lo; rc == VAE_OK && a < hi; a += cap) {
        const int64_t n = hi - a < cap ? hi - a : cap;
        for (int64_t i = 0; i < n; i++)
            e->rows[i] = a + i;
        rc = seqs ? vae_corpus_read_seqs(corpus, split, e->rows, n, &e->seqs)
                  : vae_corpus_read_docs(corpus, split, e->rows, n, &e->docs);
        if (rc == VAE_OK)
            rc = vae_model_eval(m, &batch, samples, VAE_EVAL_SEED, e->sums);
    }
    /* Every rank joins the sum whatever happened locally; the failure is agreed on after it. */
    const int sum_rc = vae_comm_sum_doubles(comm, e->sums, e->num_sums);
    rc = vae_comm_agree(comm, rc != VAE_OK ? rc : sum_rc, who);
    if (rc == VAE_OK)
        vae_model_figures(m, e->sums, f);
    return rc;
}
