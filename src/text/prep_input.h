/* vae-prep's inputs: the list of files named by the command line (folders recursed) and a reader
 * that streams their documents, one at a time, in the formats lines, files and jsonl. Memory is
 * bounded by the longest document, never by the size of the input. */
#ifndef VAE_PREP_INPUT_H
#define VAE_PREP_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **paths; /* [n] malloc'ed */
    int64_t n;
    int64_t total_bytes; /* of all files, when listed */
    int64_t *starts;     /* [n + 1]: where each file starts in the inputs taken as one stream of
                            total_bytes, by the sizes when listed (malloc'ed) */
} vae_input_list;

/* Lists inputs[0..num): a file is taken as is; a folder is replaced by the files under it, at any
 * depth, its entries taken in bytewise order of their names so that the result never depends on
 * the order of the directory, and its entries whose name starts with '.' skipped (as are entries
 * that are neither files nor folders). A missing or unreadable input fails naming it. output (or
 * NULL): the file the inputs become; an input that is it (same device and inode, links followed) is
 * refused (VAE_ERR_ARG), except that in a folder an HDF5 file (an earlier run's output) is left out,
 * as are the output's temporary files in its own folder. */
int vae_input_list_new(vae_input_list **out, const char *const *inputs, int num, const char *output);
void vae_input_list_free(vae_input_list *l);

typedef enum { VAE_INPUT_LINES, VAE_INPUT_FILES, VAE_INPUT_JSONL } vae_input_format;

typedef struct {
    const char *text; /* NULL after the last document */
    size_t len;
    const char *path; /* the file it came from */
    int64_t line;     /* 1-based line, 0 for the files format */
} vae_input_doc;

typedef struct vae_doc_reader vae_doc_reader;

/* Documents of lines: each line without its LF or CRLF, a line that is empty or white space only
 * being no document. files: each file's bytes. jsonl: in each line that is not blank, one JSON
 * object whose member text_field is a string; its decoded value (UTF-8; a lone surrogate escape
 * becomes U+FFFD) is the document. Gzip-compressed files are refused. */
int vae_doc_reader_new(vae_doc_reader **out, const vae_input_list *files, vae_input_format format,
                       const char *text_field);
/* The next document, valid until the next call; doc->text = NULL at the end. */
int vae_doc_reader_next(vae_doc_reader *r, vae_input_doc *doc);
/* Restricts the reader to the documents that start in bytes [lo, hi) of the inputs taken as one
 * stream (vae_input_list.starts), and starts it over: a line or jsonl line belongs to the range
 * holding its first byte, a file of the files format to the one holding its start (hi = INT64_MAX
 * takes the empty files at the end). So ranges that tile [0, total_bytes) read every document
 * once, whatever the cuts. The first line read in a file that the range enters in its middle is
 * numbered line_base + 1: the number of that file's lines before lo, when known. */
void vae_doc_reader_range(vae_doc_reader *r, int64_t lo, int64_t hi, int64_t line_base);
/* The number of the last line read in the open or last file (from line_base as above). */
int64_t vae_doc_reader_line(const vae_doc_reader *r);
/* Bytes read from the files so far. */
int64_t vae_doc_reader_bytes(const vae_doc_reader *r);
void vae_doc_reader_free(vae_doc_reader *r);

#endif
