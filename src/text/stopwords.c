/* Stopword sets for the tokenizer: the built-in English list ("en") and lists read from files. */
#include "tokenize.h"

#include "vae/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NLTK's English list without the forms holding an apostrophe, which the tokenizer splits ("don't"
 * gives "don" and "t", both listed). */
static const char *const english[] = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it",
    "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which", "who",
    "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and",
    "but", "if", "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about",
    "against", "between", "into", "through", "during", "before", "after", "above", "below", "to",
    "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then",
    "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each", "few",
    "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
    "than", "too", "very", "s", "t", "can", "will", "just", "don", "should", "now", "d", "ll", "m",
    "o", "re", "ve", "y", "ain", "aren", "couldn", "didn", "doesn", "hadn", "hasn", "haven", "isn",
    "ma", "mightn", "mustn", "needn", "shan", "shouldn", "wasn", "weren", "won", "wouldn",
};

static int load_builtin(vae_wordtab *t)
{
    int rc = VAE_OK;
    for (size_t i = 0; !rc && i < sizeof english / sizeof english[0]; i++)
        rc = vae_wordtab_add(t, english[i], strlen(english[i]), NULL);
    return rc;
}

/* Trims white space (a CRLF file's CR included) and folds ASCII to lower case in place. */
static char *clean_line(char *s, size_t *len)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
    *len = n;
    return s;
}

static int load_file(vae_wordtab *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vae_fail(VAE_ERR_IO, "%s: cannot open the stopword file: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = VAE_OK;
    while (!rc && getline(&line, &cap, f) >= 0) {
        size_t len;
        char *word = clean_line(line, &len);
        if (len > 0 && word[0] != '#')
            rc = vae_wordtab_add(t, word, len, NULL);
    }
    if (!rc && ferror(f))
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read the stopword file: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

int vae_stopwords_load(vae_wordtab **out, const char *spec)
{
    *out = NULL;
    if (strcmp(spec, "none") == 0)
        return VAE_OK;
    vae_wordtab *t = NULL;
    int rc = vae_wordtab_new(&t);
    if (!rc)
        rc = strcmp(spec, "en") == 0 ? load_builtin(t) : load_file(t, spec);
    if (rc)
        vae_wordtab_free(t);
    else
        *out = t;
    return rc;
}
