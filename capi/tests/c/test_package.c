/*
 * Exercises the package-file and index-builder parts of the C API of apk-rs through
 * include/apk.h.
 *
 * Usage: test_package HELLO DOC PLAIN TAMPERED KEYS_DIR OTHER_KEYS_DIR PRIVATE_KEY KEY_NAME
 *                     DEST_DIR INDEX_OUT
 *
 *   HELLO            hello-1.0-r0.apk, signed by KEY_NAME; holds usr/bin/hello,
 *                    usr/bin/hello-again (a hard link), usr/bin/hi (a symlink) and
 *                    usr/share/hello/greeting.txt ("Hello from apk-rs!\n")
 *   DOC              hello-doc-1.0-r0.apk (arch noarch), signed by KEY_NAME
 *   PLAIN            plain-2.0-r0.apk, unsigned; holds etc/plain.conf ("x=1\n")
 *   TAMPERED         HELLO with one bit of its data part flipped
 *   KEYS_DIR         holds KEY_NAME, the public key of PRIVATE_KEY
 *   OTHER_KEYS_DIR   holds a different public key under the name KEY_NAME
 *   PRIVATE_KEY      the PEM private key of KEY_NAME
 *   DEST_DIR         an empty directory to extract into
 *   INDEX_OUT        where to write the signed APKINDEX.tar.gz built from the packages
 *
 * The data is made by capi/tests/capi/package_program.rs, which compiles and runs this
 * program and then checks DEST_DIR and INDEX_OUT itself. Every failed check is reported on
 * stderr; the exit status is 0 only if all checks passed.
 */

/* First and alone: the header must compile standalone. */
#include "apk.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arguments. */
struct args {
    const char *hello, *doc, *plain, *tampered;
    const char *keys_dir, *other_keys_dir, *private_key, *key_name;
    const char *dest, *index_out;
};

/* Whether the file `dir`/`name` exists and holds exactly `content`. */
static int file_holds(const char *dir, const char *name, const char *content) {
    char path[4096];
    size_t len = 0;
    char *data;
    int same;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    data = read_file(path, &len);
    if (data == NULL) {
        return 0;
    }
    same = len == strlen(content) && memcmp(data, content, len) == 0;
    free(data);
    return same;
}

/* Whether the file `dir`/`name` can be opened. */
static int file_exists(const char *dir, const char *name) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f != NULL) {
        fclose(f);
        return 1;
    }
    return 0;
}

static void print_field(const char *label, apk_str s) {
    if (s.data != NULL && s.len > 0) {
        printf("  %s: %.*s\n", label, (int)s.len, s.data);
    }
}

/* print_deps for this program's packages (see check.h). */
DEFINE_PRINT_DEPS(apk_package_file)

/* Copies the identity of `pkg` into `buf` (64 bytes). */
static void identity_of(const apk_package_file *pkg, char buf[64]) {
    size_t len = 0;
    buf[0] = '\0';
    CHECK_RESULT(apk_package_file_identity(pkg, buf, 64, &len), APK_RESULT_OK);
    CHECK(strlen(buf) == len);
}

/* Opens the package at `path`, which must succeed. */
static apk_package_file *open_package(const char *path) {
    apk_package_file *pkg = NULL;
    CHECK_RESULT(apk_package_file_open(path, &pkg), APK_RESULT_OK);
    CHECK(pkg != NULL);
    return pkg;
}

static void print_package(const apk_package_file *pkg) {
    apk_str name = apk_package_file_name(pkg), version = apk_package_file_version(pkg),
            arch = apk_package_file_arch(pkg);
    char identity[64];
    size_t i, signatures = apk_package_file_signatures_len(pkg);

    printf("package %.*s %.*s %.*s\n", (int)name.len, name.data, (int)version.len,
           version.data, (int)arch.len, arch.data);
    print_field("description", apk_package_file_description(pkg));
    print_field("url", apk_package_file_url(pkg));
    print_field("license", apk_package_file_license(pkg));
    print_field("origin", apk_package_file_origin(pkg));
    print_field("maintainer", apk_package_file_maintainer(pkg));
    printf("  installed size: %llu\n", (unsigned long long)apk_package_file_installed_size(pkg));
    print_deps(pkg, "depends", apk_package_file_depends_len, apk_package_file_depends_get);
    print_deps(pkg, "provides", apk_package_file_provides_len, apk_package_file_provides_get);
    for (i = 0; i < signatures; i++) {
        apk_str key = apk_package_file_signature_key_name(pkg, i);
        CHECK(key.data != NULL);
        printf("  signed by: %.*s\n", (int)key.len, key.data);
    }
    CHECK(apk_package_file_signature_key_name(pkg, signatures).data == NULL);
    if (signatures == 0) {
        printf("  unsigned\n");
    }
    identity_of(pkg, identity);
    CHECK(strncmp(identity, "Q1", 2) == 0);
    printf("  identity: %s\n", identity);
}

static void test_metadata(const struct args *a) {
    apk_package_file *hello = open_package(a->hello);
    apk_package_file *doc = open_package(a->doc);
    apk_package_file *plain = open_package(a->plain);
    apk_package_file *pkg = NULL;
    char buf[64];
    size_t len = 0;

    print_package(hello);
    print_package(doc);
    print_package(plain);

    CHECK(str_eq(apk_package_file_name(hello), "hello"));
    CHECK(str_eq(apk_package_file_version(hello), "1.0-r0"));
    CHECK(str_eq(apk_package_file_arch(hello), "x86_64"));
    CHECK(str_eq(apk_package_file_commit(hello), "0123456789abcdef0123456789abcdef01234567"));
    CHECK(apk_package_file_build_time(hello) == 1712345678);
    CHECK(apk_package_file_installed_size(hello) == 40);
    CHECK(apk_package_file_depends_len(hello) == 2);
    CHECK(apk_package_file_signatures_len(hello) == 1);
    CHECK(str_eq(apk_package_file_signature_key_name(hello, 0), a->key_name));
    CHECK(apk_package_file_signatures_len(plain) == 0);
    /* Absent and empty values. */
    CHECK(apk_package_file_maintainer(doc).data == NULL);
    CHECK(apk_package_file_url(plain).data != NULL && apk_package_file_url(plain).len == 0);

    /* The identity buffer protocol. */
    memset(buf, 'z', sizeof buf);
    CHECK_RESULT(apk_package_file_identity(hello, buf, 4, &len), APK_RESULT_INSUFFICIENT_SIZE);
    CHECK(len == 30 && buf[0] == 'z');
    CHECK_RESULT(apk_package_file_identity(hello, NULL, 4, &len), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_package_file_depends_get(hello, 0, buf, sizeof buf, NULL),
                 APK_RESULT_NULL_PARAMETER);

    /* Files that are not packages, or not there: nothing is stored. */
    CHECK_RESULT(apk_package_file_open("/nonexistent/hello.apk", &pkg), APK_RESULT_IO);
    CHECK(last_error_contains("/nonexistent/hello.apk"));
    CHECK(pkg == NULL);
    CHECK_RESULT(apk_package_file_open(a->private_key, &pkg), APK_RESULT_PACKAGE);
    CHECK(last_error_contains("not an apk package"));
    CHECK(pkg == NULL);
    CHECK_RESULT(apk_package_file_open(NULL, &pkg), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_package_file_open(a->hello, NULL), APK_RESULT_NULL_PARAMETER);

    /* Getters and free accept NULL. */
    CHECK(apk_package_file_name(NULL).data == NULL && apk_package_file_name(NULL).len == 0);
    CHECK(apk_package_file_installed_size(NULL) == 0);
    CHECK(apk_package_file_depends_len(NULL) == 0);
    CHECK(apk_package_file_signatures_len(NULL) == 0);
    CHECK(apk_package_file_signature_key_name(NULL, 0).data == NULL);
    CHECK_RESULT(apk_package_file_identity(NULL, buf, sizeof buf, &len),
                 APK_RESULT_NULL_PARAMETER);
    apk_package_file_free(NULL);

    apk_package_file_free(hello);
    apk_package_file_free(doc);
    apk_package_file_free(plain);
}

static void test_verify(const struct args *a) {
    apk_keyset *keys = apk_keyset_new();
    apk_keyset *other = apk_keyset_new();
    apk_keyset *empty = apk_keyset_new();
    apk_package_file *hello, *plain, *tampered;
    char path[4096];

    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);
    CHECK_RESULT(apk_keyset_load_dir(other, a->other_keys_dir), APK_RESULT_OK);
    hello = open_package(a->hello);
    plain = open_package(a->plain);
    tampered = open_package(a->tampered);

    /* From the metadata alone. */
    CHECK_RESULT(apk_package_file_verify(hello, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_verify(hello, empty), APK_RESULT_UNTRUSTED);
    CHECK(last_error_contains(a->key_name));
    CHECK_RESULT(apk_package_file_verify(hello, other), APK_RESULT_BAD_SIGNATURE);
    CHECK_RESULT(apk_package_file_verify(plain, keys), APK_RESULT_UNSIGNED);
    /* The signed metadata of the tampered copy is intact: only reading the data tells. */
    CHECK_RESULT(apk_package_file_verify(tampered, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_verify(hello, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_package_file_verify(NULL, keys), APK_RESULT_NULL_PARAMETER);

    /* The whole file, like `apk verify`. */
    CHECK_RESULT(apk_package_file_check(a->hello, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->hello, NULL), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->doc, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->hello, other), APK_RESULT_BAD_SIGNATURE);
    CHECK_RESULT(apk_package_file_check(a->plain, NULL), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->plain, keys), APK_RESULT_UNSIGNED);
    CHECK_RESULT(apk_package_file_check(a->tampered, NULL), APK_RESULT_DATAHASH_MISMATCH);
    CHECK(last_error_contains("datahash"));
    CHECK_RESULT(apk_package_file_check(a->tampered, keys), APK_RESULT_DATAHASH_MISMATCH);
    CHECK_RESULT(apk_package_file_check("/nonexistent/hello.apk", NULL), APK_RESULT_IO);
    snprintf(path, sizeof path, "%s/%s", a->keys_dir, a->key_name);
    CHECK_RESULT(apk_package_file_check(path, keys), APK_RESULT_PACKAGE);
    CHECK_RESULT(apk_package_file_check(NULL, keys), APK_RESULT_NULL_PARAMETER);

    apk_package_file_free(hello);
    apk_package_file_free(plain);
    apk_package_file_free(tampered);
    apk_keyset_free(keys);
    apk_keyset_free(other);
    apk_keyset_free(empty);
}

static void print_summary(const char *name, const apk_extract_summary *s) {
    printf("extracted %s: %llu files, %llu directories, %llu symlinks, %llu hardlinks, "
           "%llu bytes\n",
           name, (unsigned long long)s->files, (unsigned long long)s->directories,
           (unsigned long long)s->symlinks, (unsigned long long)s->hardlinks,
           (unsigned long long)s->bytes);
}

static void test_extract(const struct args *a) {
    apk_keyset *keys = apk_keyset_new();
    apk_keyset *empty = apk_keyset_new();
    apk_package_file *pkg;
    apk_extract_summary summary, untouched;
    char before[64], after[64];

    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);
    memset(&untouched, 0xab, sizeof untouched);

    /* Tampered: refused once the data is read, leaving no file behind; the data is gone. */
    pkg = open_package(a->tampered);
    summary = untouched;
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, &summary),
                 APK_RESULT_DATAHASH_MISMATCH);
    CHECK(memcmp(&summary, &untouched, sizeof summary) == 0);
    CHECK(!file_exists(a->dest, "usr/share/hello/greeting.txt"));
    CHECK(!file_exists(a->dest, "usr/bin/hello"));
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, &summary),
                 APK_RESULT_DATA_CONSUMED);
    apk_package_file_free(pkg);

    /* Unsigned: refused with keys before reading anything, so it can be tried again. */
    pkg = open_package(a->plain);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, &summary), APK_RESULT_UNSIGNED);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, NULL, 0x80, &summary),
                 APK_RESULT_INVALID_FLAGS);
    CHECK_RESULT(apk_package_file_extract(pkg, "/nonexistent/dest", NULL, 0, &summary),
                 APK_RESULT_IO);
    CHECK_RESULT(apk_package_file_extract(pkg, NULL, NULL, 0, &summary),
                 APK_RESULT_NULL_PARAMETER);
    CHECK(memcmp(&summary, &untouched, sizeof summary) == 0);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, NULL, 0, &summary), APK_RESULT_OK);
    print_summary("plain", &summary);
    CHECK(file_holds(a->dest, "etc/plain.conf", "x=1\n"));
    apk_package_file_free(pkg);

    /* Signed: untrusted first, then trusted. */
    pkg = open_package(a->hello);
    identity_of(pkg, before);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, empty, 0, &summary),
                 APK_RESULT_UNTRUSTED);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, &summary), APK_RESULT_OK);
    print_summary("hello", &summary);
    CHECK(summary.files == 2 && summary.symlinks == 1 && summary.hardlinks == 1);
    CHECK(summary.bytes == 40 && summary.devices == 0);
    CHECK(file_holds(a->dest, "usr/share/hello/greeting.txt", "Hello from apk-rs!\n"));
    CHECK(file_holds(a->dest, "usr/bin/hello", "#!/bin/sh\necho hello\n"));
    CHECK(file_holds(a->dest, "usr/bin/hello-again", "#!/bin/sh\necho hello\n"));
    CHECK(file_holds(a->dest, "usr/bin/hi", "#!/bin/sh\necho hello\n"));
    /* Once only; the metadata, identity and verification still work. */
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, APK_EXTRACT_OVERWRITE, NULL),
                 APK_RESULT_DATA_CONSUMED);
    CHECK(last_error_contains("already read"));
    CHECK(str_eq(apk_package_file_name(pkg), "hello"));
    identity_of(pkg, after);
    CHECK(strcmp(before, after) == 0);
    CHECK_RESULT(apk_package_file_verify(pkg, keys), APK_RESULT_OK);
    apk_package_file_free(pkg);

    /* Again into the same place: existing files are in the way unless overwriting. */
    pkg = open_package(a->hello);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, NULL), APK_RESULT_EXTRACT);
    CHECK(last_error_contains("already exists"));
    apk_package_file_free(pkg);
    pkg = open_package(a->hello);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys,
                                          APK_EXTRACT_OVERWRITE | APK_EXTRACT_ALLOW_DEVICES, NULL),
                 APK_RESULT_OK);
    CHECK(file_holds(a->dest, "usr/share/hello/greeting.txt", "Hello from apk-rs!\n"));
    apk_package_file_free(pkg);

    CHECK_RESULT(apk_package_file_extract(NULL, a->dest, keys, 0, NULL),
                 APK_RESULT_NULL_PARAMETER);
    apk_keyset_free(keys);
    apk_keyset_free(empty);
}

static void test_index_builder(const struct args *a) {
    apk_index_builder *builder = apk_index_builder_new();
    apk_keyset *keys = apk_keyset_new();
    apk_index *index = NULL;
    const char *paths[3];
    char *private_key, *text_copy;
    size_t private_key_len, i, j, n;
    uint8_t *data = NULL;
    size_t data_len = 0;
    FILE *out;

    paths[0] = a->hello;
    paths[1] = a->doc;
    paths[2] = a->plain;
    CHECK(builder != NULL);
    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);
    private_key = read_file(a->private_key, &private_key_len);
    CHECK(private_key != NULL);

    CHECK_RESULT(apk_index_builder_set_rewrite_arch(builder, "x86_64"), APK_RESULT_OK);
    CHECK_RESULT(apk_index_builder_set_description(builder, "temporary"), APK_RESULT_OK);
    CHECK_RESULT(apk_index_builder_set_description(builder, "built from C"), APK_RESULT_OK);
    CHECK_RESULT(apk_index_builder_set_description(builder, "\xff"), APK_RESULT_INVALID_UTF8);
    for (i = 0; i < 3; i++) {
        CHECK_RESULT(apk_index_builder_add_file(builder, paths[i]), APK_RESULT_OK);
    }
    /* Packages that fail their checks are not added. */
    CHECK_RESULT(apk_index_builder_add_file(builder, a->tampered), APK_RESULT_DATAHASH_MISMATCH);
    CHECK(last_error_contains(a->tampered));
    CHECK_RESULT(apk_index_builder_add_file(builder, "/nonexistent/x.apk"), APK_RESULT_IO);
    CHECK_RESULT(apk_index_builder_add_file(builder, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK(apk_index_builder_len(builder) == 3);
    CHECK(apk_index_builder_len(NULL) == 0);

    /* The text. */
    CHECK_RESULT(apk_index_builder_write_text(builder, &data, &data_len), APK_RESULT_OK);
    text_copy = malloc(data_len + 1);
    if (text_copy != NULL && data != NULL) {
        memcpy(text_copy, data, data_len);
        text_copy[data_len] = '\0';
        CHECK(strncmp(text_copy, "C:Q1", 4) == 0);
        CHECK(strstr(text_copy, "\nP:hello-doc\nV:1.0-r0\nA:x86_64\n") != NULL);
    }
    free(text_copy);
    apk_bytes_free(data, data_len);

    /* Errors leave the outputs alone. */
    data = NULL;
    CHECK_RESULT(apk_index_builder_write_archive(builder, "not a key", a->key_name, &data,
                                                 &data_len),
                 APK_RESULT_KEY);
    CHECK_RESULT(apk_index_builder_write_archive(builder, private_key, NULL, &data, &data_len),
                 APK_RESULT_NULL_PARAMETER);
    CHECK(data == NULL);

    /* The signed archive, written to INDEX_OUT and loaded back. */
    CHECK_RESULT(apk_index_builder_write_archive(builder, private_key, a->key_name, &data,
                                                 &data_len),
                 APK_RESULT_OK);
    out = fopen(a->index_out, "wb");
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK(fwrite(data, 1, data_len, out) == data_len);
        CHECK(fclose(out) == 0);
    }
    apk_bytes_free(data, data_len);

    CHECK_RESULT(apk_index_load_file(a->index_out, keys, APK_RULES_V3, &index), APK_RESULT_OK);
    n = apk_index_len(index);
    CHECK(n == 3);
    printf("index: %zu packages\n", n);
    CHECK(str_eq(apk_index_signed_by(index), a->key_name));
    CHECK(str_eq(apk_index_description(index), "built from C"));
    printf("index signed by: %.*s\n", (int)apk_index_signed_by(index).len,
           apk_index_signed_by(index).data);
    for (i = 0; i < n; i++) {
        const apk_package *entry = NULL;
        char in_index[64];
        size_t len = 0;
        apk_str name;
        int matched = 0;

        CHECK_RESULT(apk_index_package(index, i, &entry), APK_RESULT_OK);
        CHECK_RESULT(apk_package_identity(entry, in_index, sizeof in_index, &len), APK_RESULT_OK);
        name = apk_package_name(entry);
        printf("index package %.*s: %s\n", (int)name.len, name.data, in_index);
        CHECK(str_eq(apk_package_arch(entry), "x86_64"));
        /* The identity in the index is the package file's. */
        for (j = 0; j < 3; j++) {
            apk_package_file *pkg = open_package(paths[j]);
            char in_file[64];
            if (pkg != NULL && apk_package_file_name(pkg).len == name.len &&
                memcmp(apk_package_file_name(pkg).data, name.data, name.len) == 0) {
                identity_of(pkg, in_file);
                CHECK(strcmp(in_file, in_index) == 0);
                matched++;
            }
            apk_package_file_free(pkg);
        }
        CHECK(matched == 1);
    }
    apk_index_free(index);

    /* An unsigned archive does not load with keys. */
    index = NULL;
    CHECK_RESULT(apk_index_builder_write_archive(builder, NULL, NULL, &data, &data_len),
                 APK_RESULT_OK);
    CHECK_RESULT(apk_index_load_buffer(data, data_len, keys, APK_RULES_V3, &index),
                 APK_RESULT_UNSIGNED);
    CHECK(index == NULL);
    apk_bytes_free(data, data_len);

    CHECK_RESULT(apk_index_builder_set_rewrite_arch(NULL, "x86_64"), APK_RESULT_NULL_PARAMETER);
    apk_index_builder_free(builder);
    apk_index_builder_free(NULL);
    apk_keyset_free(keys);
    free(private_key);
}

int main(int argc, char **argv) {
    struct args a;
    if (argc != 11) {
        fprintf(stderr,
                "usage: %s HELLO DOC PLAIN TAMPERED KEYS_DIR OTHER_KEYS_DIR PRIVATE_KEY "
                "KEY_NAME DEST_DIR INDEX_OUT\n",
                argv[0]);
        return 2;
    }
    a.hello = argv[1];
    a.doc = argv[2];
    a.plain = argv[3];
    a.tampered = argv[4];
    a.keys_dir = argv[5];
    a.other_keys_dir = argv[6];
    a.private_key = argv[7];
    a.key_name = argv[8];
    a.dest = argv[9];
    a.index_out = argv[10];

    test_metadata(&a);
    test_verify(&a);
    test_extract(&a);
    test_index_builder(&a);

    return checks_finish();
}
