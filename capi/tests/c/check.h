/*
 * The checking helpers shared by the C test programs in this directory. Each program includes
 * apk.h first and alone (the header must compile standalone), then this file.
 *
 * CHECK and CHECK_RESULT count every check and report each failed one on stderr; a program
 * ends with `return checks_finish();`, which prints the summary line the Rust drivers look
 * for and gives the exit status.
 */

#ifndef APK_TESTS_CHECK_H
#define APK_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* Checks that `expr` returns `expected`, printing the last error if not. */
#define CHECK_RESULT(expr, expected)                                                    \
    do {                                                                                \
        apk_result got_ = (expr);                                                       \
        checks++;                                                                       \
        if (got_ != (apk_result)(expected)) {                                           \
            char message_[512];                                                         \
            size_t message_len_ = 0;                                                    \
            apk_last_error(message_, sizeof message_, &message_len_);                   \
            fprintf(stderr, "%s:%d: %s returned %u, expected %s (%u); last error: %s\n", \
                    __FILE__, __LINE__, #expr, (unsigned)got_, #expected,               \
                    (unsigned)(expected), message_);                                    \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

/* Defines `print_deps` for packages of type `type` (apk_package or apk_package_file): it
 * prints each entry of one dependency list of `pkg` as "  LABEL: TEXT", checking the buffer
 * protocol of `get_fn` along the way. Use it at file scope, without a semicolon. */
#define DEFINE_PRINT_DEPS(type)                                                             \
    static void print_deps(const type *pkg, const char *label,                              \
                           size_t (*len_fn)(const type *),                                  \
                           apk_result (*get_fn)(const type *, size_t, char *, size_t,       \
                                                size_t *)) {                                \
        size_t n = len_fn(pkg), i, len;                                                     \
        char buf[256];                                                                      \
        for (i = 0; i < n; i++) {                                                           \
            len = 0;                                                                        \
            CHECK_RESULT(get_fn(pkg, i, buf, sizeof buf, &len), APK_RESULT_OK);             \
            CHECK(strlen(buf) == len);                                                      \
            printf("  %s: %s\n", label, buf);                                               \
        }                                                                                   \
        CHECK_RESULT(get_fn(pkg, n, buf, sizeof buf, &len), APK_RESULT_OUT_OF_RANGE);       \
    }

/* Prints how the checks went and returns the exit status: 0 only if all of them passed. */
static inline int checks_finish(void) {
    if (failures > 0) {
        printf("%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("all %d checks passed\n", checks);
    return 0;
}

/* Whether the view `s` holds exactly the text `text`. */
static inline int str_eq(apk_str s, const char *text) {
    size_t len = strlen(text);
    return s.data != NULL && s.len == len && memcmp(s.data, text, len) == 0;
}

/* Whether the last error message contains `needle`. */
static inline int last_error_contains(const char *needle) {
    char message[512];
    size_t len = 0;
    if (apk_last_error(message, sizeof message, &len) != APK_RESULT_OK) {
        return 0;
    }
    return strstr(message, needle) != NULL;
}

/* Reads a whole file into a NUL-terminated buffer the caller frees with free(); NULL if it
 * cannot be opened. Running out of memory ends the program with status 2. */
static inline char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    char *data = NULL, *grown;
    size_t len = 0, cap = 0, n;
    if (f == NULL) {
        return NULL;
    }
    do {
        if (cap - len < 4096) {
            cap = cap * 2 + 4096;
            grown = realloc(data, cap + 1);
            if (grown == NULL) {
                fprintf(stderr, "out of memory\n");
                free(data);
                fclose(f);
                exit(2);
            }
            data = grown;
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    data[len] = '\0';
    *len_out = len;
    return data;
}

/* Like read_file, for a file the program cannot do without: if it cannot be opened, the
 * program ends with status 2. */
static inline char *read_input(const char *path, size_t *len_out) {
    char *data = read_file(path, len_out);
    if (data == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    return data;
}

#endif
