/* The run's resolved configuration as JSON (SPEC.md "A training run's folder": config.json, and the
 * config_json of every checkpoint): the trainer's flags, the model's family and its settings as
 * the family describes them, the number of ranks and the versions of what the run links. */
#include <stdio.h>
#include <string.h>

#include "bf16.h"
#include "blas.h"
#include "trainer.h"
#include "vae/family.h"

/* The family's settings, each as the kind of JSON value its kind reads as: "128,64" as [128,64]. */
static void json_model(json_buf *j, const vae_model_config *c)
{
    json_str(j, "model", c->family->name);
    json_int(j, "vocab_size", c->vocab_size);
    for (int i = 0; i < c->family->num_settings; i++) {
        const vae_setting_spec *sp = &c->family->settings[i];
        char text[256], list[260];
        vae_model_config_text(c, i, text, sizeof text);
        if (sp->kind == VAE_SETTING_INT) {
            json_int(j, sp->key, c->values[i].num);
        } else if (sp->kind == VAE_SETTING_REAL) {
            json_raw(j, sp->key, text);
        } else if (sp->kind == VAE_SETTING_LIST) {
            snprintf(list, sizeof list, "[%s]", text);
            json_raw(j, sp->key, list);
        } else {
            json_str(j, sp->key, text);
        }
    }
}

int trainer_config_json(trainer *t)
{
    const vae_train_config *c = t->cfg;
    json_buf *j = &t->json;
    json_begin(j);
    json_str(j, "corpus", c->corpus);
    json_str(j, "out", c->out_dir);
    json_int(j, "epochs", trainer_epoch_limit(c));
    json_int(j, "max_steps", c->max_steps);
    json_int(j, "batch_size", c->batch_size);
    json_float(j, "lr", c->optim.lr);
    json_model(j, vae_model_config_of(t->model));
    json_num(j, "beta", c->beta);
    json_int(j, "kl_warmup_steps", c->kl_warmup_steps);
    json_int(j, "kl_cycles", c->kl_cycles);
    json_num(j, "free_bits", c->free_bits);
    json_str(j, "optimizer", vae_optim_names[c->optim.kind]);
    json_float(j, "adam_beta1", c->optim.beta1);
    json_float(j, "adam_beta2", c->optim.beta2);
    json_float(j, "adam_eps", c->optim.eps);
    json_float(j, "clip_norm", c->optim.clip_norm);
    json_int(j, "latent_samples", c->latent_samples);
    json_int(j, "seed", (int64_t)c->seed);
    json_int(j, "threads", c->threads);
    json_str(j, "precision", vae_precision_names[c->precision]);
    json_str(j, "bf16_library", c->precision == VAE_PRECISION_BF16 ? vae_bf16_library() : "none");
    json_int(j, "eval_every", c->eval_every);
    json_int(j, "log_every", c->log_every);
    json_int(j, "checkpoint_every", c->checkpoint_every);
    json_int(j, "keep_checkpoints", c->keep_checkpoints);
    json_int(j, "keep_best", c->keep_best);
    json_int(j, "early_stop", c->early_stop);
    json_int(j, "shuffle", c->shuffle);
    json_str(j, "gradient_exchange_kind", vae_exchange_kind_names[c->exchange.kind]);
    json_str(j, "gradient_exchange", vae_exchange_name(t->exchange));
    json_str(j, "shared_memory", c->exchange.shared_memory ? "on" : "off");
    json_int(j, "ranks_per_node", c->exchange.ranks_per_node);
    json_str(j, "shm_single_copy", c->shm_single_copy ? "on" : "off");
    json_int(j, "ranks", t->ranks);
    json_str(j, "version", vae_version());
    json_str(j, "mpi", vae_comm_library_version());
    json_str(j, "hdf5", vae_corpus_hdf5_version());
    json_str(j, "blas", vae_blas_version());
    json_str(j, "blas_core", vae_blas_core());
    json_end(j);
    if (j->failed)
        return vae_fail(VAE_ERR_NOMEM, "out of memory writing the configuration");
    t->config_json = strdup(j->buf);
    return t->config_json ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory");
}
