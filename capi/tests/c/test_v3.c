/*
 * Exercises apk v3 (ADB) packages and indexes through the same calls of the C API of apk-rs
 * as v2 ones (include/apk.h): apk_package_file_* and apk_index_load_*.
 *
 * Usage: test_v3 SIGNED UNSIGNED TAMPERED INDEX UNSIGNED_INDEX KEYS_DIR OTHER_KEYS_DIR
 *                KEY_FILE DEST_DIR
 *
 *   SIGNED           tiny-1-r0.apk, an uncompressed v3 package signed by the key in KEYS_DIR;
 *                    holds the file f ("hi")
 *   UNSIGNED         the same package without its signature
 *   TAMPERED         SIGNED with the last byte of f's DATA block changed
 *   INDEX            a signed v3 index (description "demo") of one package, hello 1.0-r0
 *   UNSIGNED_INDEX   the same index without its signature
 *   KEYS_DIR         holds the public key, as KEY_FILE (any name: v3 matches key ids)
 *   OTHER_KEYS_DIR   holds a different public key under the same file name
 *   DEST_DIR         a directory to extract into, holding the empty directories tampered/
 *                    and unsigned/
 *
 * The data is made by capi/tests/capi/v3_program.rs, which compiles and runs this program and
 * then checks DEST_DIR itself. Every failed check is reported on stderr; the exit status is 0
 * only if all checks passed.
 */

/* First and alone: the header must compile standalone. */
#include "apk.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args {
    const char *signed_pkg, *unsigned_pkg, *tampered, *index, *unsigned_index;
    const char *keys_dir, *other_keys_dir, *key_file, *dest;
};

static apk_package_file *open_package(const char *path) {
    apk_package_file *pkg = NULL;
    CHECK_RESULT(apk_package_file_open(path, &pkg), APK_RESULT_OK);
    CHECK(pkg != NULL);
    return pkg;
}

/* Whether the file `dir`/`name` can be opened. */
static int exists(const char *dir, const char *name) {
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

static void test_package(const struct args *a) {
    apk_package_file *pkg = open_package(a->signed_pkg);
    apk_package_file *plain = open_package(a->unsigned_pkg);
    apk_keyset *keys = apk_keyset_new();
    apk_keyset *other = apk_keyset_new();
    apk_keyset *empty = apk_keyset_new();
    char identity[64];
    size_t len = 0;
    apk_str key;

    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);
    CHECK_RESULT(apk_keyset_load_dir(other, a->other_keys_dir), APK_RESULT_OK);

    /* Metadata. */
    CHECK(str_eq(apk_package_file_name(pkg), "tiny"));
    CHECK(str_eq(apk_package_file_version(pkg), "1-r0"));
    CHECK(apk_package_file_arch(pkg).data == NULL);
    CHECK(apk_package_file_depends_len(pkg) == 0);
    printf("v3 package %.*s %.*s\n", (int)apk_package_file_name(pkg).len,
           apk_package_file_name(pkg).data, (int)apk_package_file_version(pkg).len,
           apk_package_file_version(pkg).data);
    CHECK(apk_package_file_signatures_len(pkg) == 1);
    CHECK(apk_package_file_signatures_len(plain) == 0);
    key = apk_package_file_signature_key_name(pkg, 0);
    CHECK(key.data != NULL && key.len == 32);
    printf("  signed by key id: %.*s\n", (int)key.len, key.data);
    CHECK(apk_package_file_signature_key_name(pkg, 1).data == NULL);
    CHECK_RESULT(apk_package_file_identity(pkg, identity, sizeof identity, &len), APK_RESULT_OK);
    CHECK(strncmp(identity, "Q1", 2) == 0 && strlen(identity) == len && len == 30);
    printf("  identity: %s\n", identity);

    /* Signatures: by key id, whatever the key's file name. */
    CHECK_RESULT(apk_package_file_verify(pkg, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_verify(pkg, empty), APK_RESULT_UNTRUSTED);
    CHECK_RESULT(apk_package_file_verify(pkg, other), APK_RESULT_UNTRUSTED);
    CHECK_RESULT(apk_package_file_verify(plain, keys), APK_RESULT_UNSIGNED);

    /* The whole file, like `apk verify`. */
    CHECK_RESULT(apk_package_file_check(a->signed_pkg, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->signed_pkg, NULL), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->signed_pkg, other), APK_RESULT_UNTRUSTED);
    CHECK_RESULT(apk_package_file_check(a->unsigned_pkg, NULL), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_check(a->unsigned_pkg, keys), APK_RESULT_UNSIGNED);
    CHECK_RESULT(apk_package_file_check(a->tampered, NULL), APK_RESULT_CHECKSUM_MISMATCH);
    CHECK_RESULT(apk_package_file_check(a->tampered, keys), APK_RESULT_CHECKSUM_MISMATCH);

    apk_package_file_free(pkg);
    apk_package_file_free(plain);
    apk_keyset_free(keys);
    apk_keyset_free(other);
    apk_keyset_free(empty);
}

static void test_extract(const struct args *a) {
    apk_keyset *keys = apk_keyset_new();
    apk_package_file *pkg;
    apk_extract_summary summary;
    char sub[4096];

    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);

    /* The signed package, checked against the keys. */
    pkg = open_package(a->signed_pkg);
    memset(&summary, 0, sizeof summary);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, &summary), APK_RESULT_OK);
    printf("extracted tiny: %llu files, %llu directories, %llu symlinks, %llu hardlinks, "
           "%llu bytes\n",
           (unsigned long long)summary.files, (unsigned long long)summary.directories,
           (unsigned long long)summary.symlinks, (unsigned long long)summary.hardlinks,
           (unsigned long long)summary.bytes);
    CHECK(exists(a->dest, "f"));
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, keys, 0, NULL),
                 APK_RESULT_DATA_CONSUMED);
    apk_package_file_free(pkg);

    /* Again into the same place: the file is in the way without APK_EXTRACT_OVERWRITE. */
    pkg = open_package(a->signed_pkg);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, NULL, 0, NULL), APK_RESULT_EXTRACT);
    apk_package_file_free(pkg);
    pkg = open_package(a->signed_pkg);
    CHECK_RESULT(apk_package_file_extract(pkg, a->dest, NULL, APK_EXTRACT_OVERWRITE, NULL),
                 APK_RESULT_OK);
    apk_package_file_free(pkg);

    /* The tampered copy: its signature holds, its contents do not; nothing is written. */
    snprintf(sub, sizeof sub, "%s/tampered", a->dest);
    pkg = open_package(a->tampered);
    CHECK_RESULT(apk_package_file_verify(pkg, keys), APK_RESULT_OK);
    CHECK_RESULT(apk_package_file_extract(pkg, sub, keys, 0, NULL),
                 APK_RESULT_CHECKSUM_MISMATCH);
    CHECK(!exists(sub, "f"));
    apk_package_file_free(pkg);

    /* The unsigned package with keys: refused before anything is read, so it can be
     * extracted afterwards without them. */
    snprintf(sub, sizeof sub, "%s/unsigned", a->dest);
    pkg = open_package(a->unsigned_pkg);
    CHECK_RESULT(apk_package_file_extract(pkg, sub, keys, 0, NULL), APK_RESULT_UNSIGNED);
    CHECK(!exists(sub, "f"));
    apk_package_file_free(pkg);

    apk_keyset_free(keys);
}

static void test_index(const struct args *a) {
    apk_keyset *keys = apk_keyset_new();
    apk_keyset *other = apk_keyset_new();
    apk_index *index = NULL;
    const apk_package *entry = NULL;
    apk_str description, name, version;
    char identity[64];
    size_t len = 0, data_len = 0;
    char *data;

    CHECK_RESULT(apk_keyset_load_dir(keys, a->keys_dir), APK_RESULT_OK);
    CHECK_RESULT(apk_keyset_load_dir(other, a->other_keys_dir), APK_RESULT_OK);

    CHECK_RESULT(apk_index_load_file(a->index, keys, APK_RULES_V3, &index), APK_RESULT_OK);
    if (index != NULL) {
        description = apk_index_description(index);
        CHECK(str_eq(description, "demo"));
        CHECK(str_eq(apk_index_signed_by(index), a->key_file));
        CHECK(apk_index_len(index) == 1);
        printf("v3 index: %zu packages: %.*s\n", apk_index_len(index), (int)description.len,
               description.data);
        CHECK_RESULT(apk_index_package(index, 0, &entry), APK_RESULT_OK);
        name = apk_package_name(entry);
        version = apk_package_version(entry);
        CHECK(str_eq(apk_package_arch(entry), "noarch"));
        CHECK(apk_package_size(entry) == 160);
        CHECK(apk_package_depends_len(entry) == 1);
        CHECK_RESULT(apk_package_identity(entry, identity, sizeof identity, &len),
                     APK_RESULT_OK);
        printf("v3 index package %.*s %.*s: %s\n", (int)name.len, name.data, (int)version.len,
               version.data, identity);
        apk_index_free(index);
    }

    /* The same bytes from memory. */
    data = read_input(a->index, &data_len);
    index = NULL;
    CHECK_RESULT(apk_index_load_buffer((const uint8_t *)data, data_len, keys, APK_RULES_V3,
                                       &index),
                 APK_RESULT_OK);
    CHECK(index != NULL && apk_index_len(index) == 1);
    apk_index_free(index);
    /* A broken copy is a malformed index. */
    index = NULL;
    CHECK_RESULT(apk_index_load_buffer((const uint8_t *)data, data_len - 8, keys, APK_RULES_V3,
                                       &index),
                 APK_RESULT_ARCHIVE);
    CHECK(index == NULL);
    free(data);

    /* Untrusted and unsigned. */
    index = NULL;
    CHECK_RESULT(apk_index_load_file(a->index, other, APK_RULES_V3, &index),
                 APK_RESULT_UNTRUSTED);
    CHECK(index == NULL);
    CHECK_RESULT(apk_index_load_file(a->unsigned_index, keys, APK_RULES_V3, &index),
                 APK_RESULT_UNSIGNED);
    CHECK(index == NULL);
    CHECK_RESULT(apk_index_load_file(a->unsigned_index, NULL, APK_RULES_V3, &index),
                 APK_RESULT_OK);
    CHECK(index != NULL && apk_index_signed_by(index).data == NULL);
    apk_index_free(index);

    apk_keyset_free(keys);
    apk_keyset_free(other);
}

int main(int argc, char **argv) {
    struct args a;
    if (argc != 10) {
        fprintf(stderr,
                "usage: %s SIGNED UNSIGNED TAMPERED INDEX UNSIGNED_INDEX KEYS_DIR "
                "OTHER_KEYS_DIR KEY_FILE DEST_DIR\n",
                argv[0]);
        return 2;
    }
    a.signed_pkg = argv[1];
    a.unsigned_pkg = argv[2];
    a.tampered = argv[3];
    a.index = argv[4];
    a.unsigned_index = argv[5];
    a.keys_dir = argv[6];
    a.other_keys_dir = argv[7];
    a.key_file = argv[8];
    a.dest = argv[9];

    test_package(&a);
    test_extract(&a);
    test_index(&a);

    return checks_finish();
}
