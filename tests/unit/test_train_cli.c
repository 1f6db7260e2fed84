/* Tests of vae-dist's option table (src/train/train_cli.c): an empty command line leaves the
 * library's defaults (vae_train_config_default) exactly as they are, every flag reaches its own
 * field and no other, the model's settings reach the family's configuration (which checks them),
 * and --help shows the defaults as the struct and the family hold them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_help.h"
#include "train_cli.h"

static train_cli dist; /* large: not on the test's stack */

/* vae-dist's flags args (after --corpus c.h5 --out d) into dist.v, from the library's defaults. */
static int run_dist(cli_args *a, const char *const *args)
{
    const char *full[64] = {"--corpus", "c.h5", "--out", "d"};
    int n = 4;
    for (int i = 0; args[i]; i++)
        full[n++] = args[i];
    full[n] = NULL;
    train_cli_init(&dist, 1);
    int rc = run_table(&dist.table, a, &dist.v, full);
    return rc ? rc : train_cli_model(&dist, a);
}

/* The text of the model setting key in c. */
static const char *setting(const vae_model_config *c, const char *key, char *buf, size_t size)
{
    for (int i = 0; i < c->family->num_settings; i++)
        if (strcmp(c->family->settings[i].key, key) == 0) {
            vae_model_config_text(c, i, buf, size);
            return buf;
        }
    fail_msg("no setting %s", key);
    return NULL;
}

/* vae-dist's parse of args (after --corpus c.h5 --out d) into dist.v, the family's trainer
 * defaults applied as vae-dist applies them. */
static void run_with_family_defaults(cli_args *a, const char *const *args)
{
    static char *argv[16];
    const char *full[16] = {"vae-dist", "--corpus", "c.h5", "--out", "d"};
    int argc = 5;
    for (int k = 0; args[k]; k++)
        full[argc++] = args[k];
    memcpy(argv, full, sizeof full);
    train_cli_init(&dist, 1);
    assert_int_equal(cli_run(a, &dist.table, &dist.v, argc, argv, 1), 0);
    assert_int_equal(train_cli_model(&dist, a), 0);
    assert_int_equal(train_cli_family_defaults(&dist, a, argc, argv), 0);
}

/* The value of flag among family's trainer defaults; NULL if it names none. */
static const char *family_default(const vae_family *family, const char *flag)
{
    for (const char *const *d = family->train_defaults; d && d[0]; d += 2)
        if (strcmp(d[0], flag) == 0)
            return d[1];
    return NULL;
}

/* The sentence family's defaults against posterior collapse (a KL schedule, free bits) apply
 * unless given; --kl-warmup-steps, the other KL schedule, replaces its --kl-cycles
 * rather than clashing with it (which vae-dist would refuse). */
static void test_sentence_defaults_yield(void **state)
{
    (void)state;
    const vae_family *sentence;
    assert_int_equal(vae_family_find("sentence", &sentence), VAE_OK);
    const char *cycles = family_default(sentence, "kl-cycles"), *bits = family_default(sentence, "free-bits");
    assert_non_null(cycles);
    assert_non_null(bits);
    char buf[64];
    cli_args a;
    run_with_family_defaults(&a, (const char *const[]){"--model", "sentence", NULL});
    assert_int_equal(dist.v.config.kl_cycles, atoll(cycles));
    assert_true(dist.v.config.kl_cycles > 0);
    assert_int_equal(dist.v.config.kl_warmup_steps, 0);
    assert_true(fabs(dist.v.config.free_bits - atof(bits)) <= 1e-12);
    cli_free(&a);
    run_with_family_defaults(&a, (const char *const[]){"--model", "sentence", "--kl-warmup-steps", "50", NULL});
    assert_int_equal(dist.v.config.kl_cycles, 0);
    assert_int_equal(dist.v.config.kl_warmup_steps, 50);
    assert_true(fabs(dist.v.config.free_bits - atof(bits)) <= 1e-12); /* the others still apply */
    cli_free(&a);
    run_with_family_defaults(&a, (const char *const[]){"--model", "sentence", "--kl-cycles", "0", "--free-bits",
                                                        "0", "--word-dropout", "0.3", NULL});
    assert_int_equal(dist.v.config.kl_cycles, 0);
    assert_true(dist.v.config.free_bits == 0);
    assert_string_equal(setting(&dist.v.config.model, "word_dropout", buf, sizeof buf), "0.3");
    cli_free(&a);
}

/* A family's own trainer defaults (topic's) apply to the flags not given, and only to them. */
static void test_family_trainer_defaults(void **state)
{
    (void)state;
    const struct {
        const char *args[8];
        int64_t epochs;
        double lr;
    } cases[] = {
        {{"--model", "topic", NULL}, -1, -1},                     /* the family's */
        {{"--model", "topic", "--epochs", "3", NULL}, 3, -1},      /* a flag given wins */
        {{"--model", "topic", "--max-steps", "7", NULL}, 0, -1},   /* no second limit */
        {{"--model", "topic", "--lr", "0.5", NULL}, -1, 0.5},
        {{"--latent", "4", NULL}, 0, 1e-3},                       /* bow has none */
    };
    const vae_family *topic;
    assert_int_equal(vae_family_find("topic", &topic), VAE_OK);
    assert_non_null(topic->train_defaults);
    int64_t family_epochs = 0;
    double family_lr = 1e-3;
    for (const char *const *d = topic->train_defaults; d[0]; d += 2) {
        if (strcmp(d[0], "epochs") == 0)
            family_epochs = atoll(d[1]);
        if (strcmp(d[0], "lr") == 0)
            family_lr = atof(d[1]);
    }
    assert_true(family_epochs > 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_args a;
        run_with_family_defaults(&a, cases[i].args);
        assert_int_equal(dist.v.config.epochs, cases[i].epochs < 0 ? family_epochs : cases[i].epochs);
        const double lr = cases[i].lr < 0 ? family_lr : cases[i].lr;
        assert_true(fabs(dist.v.config.optim.lr - lr) <= 1e-6 * lr);
        assert_string_equal(dist.v.config.corpus, "c.h5");
        cli_free(&a);
    }
}

static void test_train_table_keeps_library_defaults(void **state)
{
    vae_train_config want;
    vae_train_config_default(&want);
    want.threads = 1;
    cli_args a;
    /* The required flags alone, which have no default. */
    assert_int_equal(run_dist(&a, NOARGS), 0);
    cli_free(&a);
    want.corpus = dist.v.config.corpus;
    want.out_dir = dist.v.config.out_dir;
    assert_memory_equal(&want, &dist.v.config, sizeof want);
}

/* A value of the entry's kind other than its default (the default read from v). */
static void other_value(const cli_entry *e, const train_cli_values *v, char *buf, size_t size)
{
    int64_t x = 0;
    switch (e->kind) {
    case CLI_INT:
        memcpy(&x, (const char *)v + e->offset, e->size); /* little-endian: the low bytes */
        if (e->size == 4)
            x = (int32_t)x;
        snprintf(buf, size, "%lld", (long long)(x == e->min ? e->min + 1 : e->min));
        break;
    case CLI_REAL:
        snprintf(buf, size, "%g", e->hi);
        break;
    case CLI_CHOICE:
        memcpy(&x, (const char *)v + e->offset, e->size);
        snprintf(buf, size, "%s", e->choices[(int32_t)x == 0 ? 1 : 0]);
        break;
    default:
        /* A string: one of its choices, or any text (a family setting's text is checked later). */
        snprintf(buf, size, "%s", e->choices ? e->choices[0] : "7");
    }
}

static void test_train_table_fields(void **state)
{
    train_cli_init(&dist, 1);
    const cli_table *t = &dist.table;
    const train_cli_values v0 = dist.v;
    char *help = help_text(t, &dist.v), line[1024];
    for (int i = 0; i < t->num_entries; i++) {
        const cli_entry *e = &t->entries[i];
        if (!e->name)
            continue;
        /* Fields of the sizes cli.c stores, with ranges that fit them. */
        if (e->kind == CLI_INT || e->kind == CLI_CHOICE || e->kind == CLI_SWITCH)
            assert_true(e->size == 4 || e->size == 8);
        if (e->kind == CLI_INT && e->size == 4)
            assert_true(e->min >= INT32_MIN && e->max <= INT32_MAX);
        /* The flag changes its own field's bytes and no other's (so a wrong offset fails). */
        char value[64], flag[80];
        other_value(e, &v0, value, sizeof value);
        snprintf(flag, sizeof flag, "--%s", e->name);
        train_cli_values after = v0;
        cli_args a;
        const char *const *args = e->kind == CLI_SWITCH ? ARGS("--corpus", "c", "--out", "d", flag)
                                                        : ARGS("--corpus", "c", "--out", "d", flag, value);
        assert_int_equal(run_table(t, &a, &after, args), 0);
        cli_free(&a);
        const size_t lo = e->offset, hi = e->offset + e->size;
        for (size_t b = 0; b < sizeof after; b++) {
            const int own = (b >= lo && b < hi) ||
                            (e->kind == CLI_LIST && b >= e->count_offset && b < e->count_offset + sizeof(int)) ||
                            b < offsetof(vae_train_config, resume); /* --corpus and --out */
            if (!own)
                assert_int_equal(((const unsigned char *)&v0)[b], ((unsigned char *)&after)[b]);
        }
        if ((e->kind != CLI_SWITCH || e->on != 0) && strcmp(e->name, "model") != 0)
            assert_memory_not_equal((const char *)&v0 + lo, (char *)&after + lo, e->size);
        /* --help documents the flag, with what its entry says of the default. */
        help_line(help, e->name, line, sizeof line);
        if (e->default_text && !strstr(line, e->default_text))
            fail_msg("--help of --%s lacks '%s': %s", e->name, e->default_text, line);
    }
    /* Defaults as the struct and the family hold them (the generic rule: test_help_shows_...). */
    char buf[64], want[96];
    assert_non_null(strstr(help_line(help, "batch-size", line, sizeof line), "(default 256)"));
    snprintf(want, sizeof want, "(default %s; topic family: ", setting(&v0.config.model, "encoder_hidden", buf, sizeof buf));
    assert_non_null(strstr(help_line(help, "encoder-hidden", line, sizeof line), want));
    snprintf(want, sizeof want, "(relu|tanh|softplus; default %s)",
             setting(&v0.config.model, "activation", buf, sizeof buf));
    assert_non_null(strstr(help_line(help, "activation", line, sizeof line), want));
    /* A setting the families share with defaults of their own: --latent tells each. */
    help_line(help, "latent", line, sizeof line);
    const char *const families[] = {"bow", "topic", "sentence"};
    for (int f = 0; f < 3; f++) {
        vae_model_config mc;
        assert_int_equal(vae_model_config_init(&mc, families[f], 10), VAE_OK);
        const char *d = setting(&mc, "latent", buf, sizeof buf);
        if (f == 0)
            snprintf(want, sizeof want, "default %s", d);
        else
            snprintf(want, sizeof want, "%s family: %s", families[f], d);
        if (!strstr(line, want))
            fail_msg("--help of --latent lacks '%s': %s", want, line);
    }
    free(help);
}

/* No two flags share a field's bytes, and each flag lands in the field its name says. */
static void test_train_table_named_fields(void **state)
{
    train_cli_init(&dist, 1);
    const cli_table *t = &dist.table;
    for (int i = 0; i < t->num_entries; i++)
        for (int k = 0; k < i; k++) {
            const cli_entry *a = &t->entries[i], *b = &t->entries[k];
            assert_true(a->offset + a->size <= b->offset || b->offset + b->size <= a->offset);
        }
    cli_args a;
    assert_int_equal(run_dist(&a, ARGS("--epochs", "3", "--max-steps", "4", "--batch-size", "5", "--lr", "0.5",
                                       "--model", "bow", "--latent", "6", "--encoder-hidden", "7,8",
                                       "--decoder-hidden=", "--activation", "tanh", "--input-transform", "l1",
                                       "--beta", "0.25", "--kl-warmup-steps", "9", "--optimizer", "sgd",
                                       "--clip-norm", "2", "--latent-samples", "0", "--seed", "10", "--threads", "11",
                                       "--eval-every", "12", "--log-every", "13", "--checkpoint-every", "14",
                                       "--keep-checkpoints", "15", "--keep-best", "--early-stop", "16",
                                       "--resume", "auto", "--no-shuffle", "--shard-optimizer", "--quiet")),
                     0);
    cli_free(&a);
    const vae_train_config *c = &dist.v.config;
    char buf[64];
    assert_string_equal(c->corpus, "c.h5");
    assert_string_equal(c->out_dir, "d");
    assert_true(c->epochs == 3 && c->max_steps == 4 && c->batch_size == 5);
    assert_true(c->optim.lr == 0.5f);
    assert_string_equal(c->model.family->name, "bow");
    assert_string_equal(setting(&c->model, "latent", buf, sizeof buf), "6");
    assert_string_equal(setting(&c->model, "encoder_hidden", buf, sizeof buf), "7,8");
    assert_string_equal(setting(&c->model, "decoder_hidden", buf, sizeof buf), "");
    assert_string_equal(setting(&c->model, "activation", buf, sizeof buf), "tanh");
    assert_string_equal(setting(&c->model, "input_transform", buf, sizeof buf), "l1");
    assert_true(c->beta == 0.25);
    assert_int_equal(c->kl_warmup_steps, 9);
    assert_int_equal(c->optim.kind, 1);
    assert_true(c->optim.clip_norm == 2.0f);
    assert_int_equal(c->latent_samples, 0);
    assert_int_equal(c->seed, 10);
    assert_int_equal(c->threads, 11);
    assert_true(c->eval_every == 12 && c->log_every == 13 && c->checkpoint_every == 14 && c->keep_checkpoints == 15);
    assert_int_equal(c->keep_best, 1);
    assert_int_equal(c->early_stop, 16);
    assert_string_equal(c->resume, "auto");
    assert_true(c->shuffle == 0 && dist.v.shard_optimizer == 1 && c->quiet == 1);
    assert_true(c->optim.beta1 == 0.9f); /* no flag: the library's */
    assert_int_equal(run_dist(&a, ARGS("--init-from", "x.h5")), 0);
    cli_free(&a);
    assert_string_equal(dist.v.config.init_from, "x.h5");
    /* A setting's value is the family's to check: usage errors naming the flag. */
    const char *const *bad[] = {ARGS("--latent", "0"), ARGS("--encoder-hidden="), ARGS("--latent", "x"),
                                ARGS("--activation", "gelu"), ARGS("--model", "nope")};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_dist(&a, bad[i]), CLI_USAGE);
        cli_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_table_keeps_library_defaults),
        cmocka_unit_test(test_family_trainer_defaults),
        cmocka_unit_test(test_sentence_defaults_yield),
        cmocka_unit_test(test_train_table_fields),
        cmocka_unit_test(test_train_table_named_fields),
    };
    cli_set_silent(1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
