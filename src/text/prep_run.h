/* The state of one vae-prep run and the steps that the one-process pipeline (prep.c) and the
 * parallel one (prep_parallel.c) share: set-up, counting a document, the vocabulary's use,
 * converting a document and writing it, the file's attributes. Private to src/text. */
#ifndef VAE_PREP_RUN_H
#define VAE_PREP_RUN_H

#include "prep.h"

#include "vae/batch.h"
#include "vae/corpus.h"

typedef struct {
    const char *prog;
    int quiet, pass;
    double start, pass_start, last;
    int64_t total_bytes;
} prep_progress;

typedef struct {
    const vae_prep_options *o;
    vae_prep_stats *st;
    vae_input_list *inputs;
    vae_wordtab *stopwords;
    vae_tokenizer tok;     /* as asked for */
    vae_tokenizer map_tok; /* pass 2's: see lookup_tokenizer */
    vae_wordtab *counts;   /* pass 1; with vocab_from, the vocabulary itself */
    int64_t num_stopwords; /* pass 1 without vocab_from: they hold the ids 0.. of counts */
    vae_wordtab *vocab;    /* ids = the file's word ids */
    int64_t train_docs;    /* training documents with a token: the base of max_df_frac */
    vae_corpus_writer *writer; /* NULL on a rank that does not write */
    vae_bow *bow;
    vae_seqs units;        /* with sequences: the document's units, as token ids */
    char *doc_id;
    size_t doc_id_cap;
    prep_progress prog;
} prep;

/* Pass 1's counting of one document into p->counts. */
typedef struct {
    vae_wordtab *counts;
    int grow;              /* add new words (else only count those in the table) */
    int64_t first_counted; /* ids below it are stopwords */
    int64_t doc, tokens;
    vae_tokenizer tok;
} prep_counter;

double prep_now(void);
void prep_progress_pass(prep_progress *pr, int pass);
/* A progress line at most once a second: bytes of the pass's total, and documents (< 0: not known
 * here, and left out of the line). */
void prep_progress_tick(prep_progress *pr, int64_t bytes, int64_t docs);

/* Checks the options, loads the stopwords and lists the inputs: what needs neither MPI nor the
 * output. */
int prep_setup(prep *p);
/* Creates the output (rank 0's, once MPI is up and has said which rank is 0). */
int prep_open_output(prep *p);

/* What a run returns when it began by the launcher's rank and size (vae_comm_launch) and MPI, once
 * up, says otherwise: vae_prep_run starts it again by MPI's. Not a vae_status. */
#define PREP_RESTART 100
/* Whether MPI is up (prep_mpi_up would not wait); 1 without a communicator. */
int prep_mpi_started(const prep *p);
/* Once MPI is up (waiting for it): VAE_OK when the run began by MPI's rank and size, PREP_RESTART
 * on every rank when any began otherwise, or MPI's failure to start. Every run calls it once,
 * failed or not, before any other collective call. VAE_OK without a communicator. */
int prep_mpi_up(prep *p, int rank, int size);
void prep_free(prep *p);

void prep_counter_init(prep *p, prep_counter *c);
int prep_count_doc(prep *p, prep_counter *c, const vae_input_doc *d);

/* Once p->vocab holds the vocabulary: refuses an empty one, gives it to the writer (if any), and
 * readies pass 2. */
int prep_use_vocab(prep *p);

/* Pass 2 of one document: its split, and its bag in p->bow (nnz = 0: no word of the vocabulary,
 * counted as dropped), with sequences its units in p->units, and its name in p->doc_id. */
int prep_convert_doc(prep *p, const vae_input_doc *d, int *split);
/* Appends a converted document (its bag, name and, with sequences, units) to split. */
int prep_put_doc(prep *p, int split, const int32_t *ids, const int32_t *counts, int64_t nnz,
                 const char *doc_id, const vae_seqs *units);

/* The file's attributes from p->st, and the commit. */
int prep_finish(prep *p);

/* The parallel pipeline (prep_parallel.c), over p on every rank of p->o->comm, as rank of size
 * (the launcher's, until prep_mpi_up has checked them): set-up, passes, file. */
int prep_run_parallel(prep *p, int rank, int size);
/* Collective (prep_merge.c): the vocabulary from every rank's p->counts over p->train_docs (the
 * sum over ranks) into p->vocab on every rank, as one process would choose it from all counts;
 * p->counts is freed. */
int prep_merge_vocab(prep *p);

/* Messages between ranks (prep_wire.c): bytes appended to a growing buffer, and read back in the
 * same order through a cursor that refuses to read past the end. */
typedef struct {
    char *data;
    size_t len, cap;
} prep_buf;
int prep_buf_put(prep_buf *b, const void *x, size_t n);
void prep_buf_free(prep_buf *b);
typedef struct {
    const char *at, *end;
} prep_cursor;
int prep_cursor_get(prep_cursor *c, void *x, size_t n);
/* A word record: length, bytes, df, tf; the bytes are the cursor's, not NUL-terminated. */
int prep_put_word(prep_buf *b, const char *word, size_t len, int64_t df, int64_t tf);
int prep_get_word(prep_cursor *c, const char **word, uint32_t *len, int64_t *df, int64_t *tf);

#endif
