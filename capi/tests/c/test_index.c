/*
 * Exercises the C API of apk-rs through include/apk.h.
 *
 * Usage: test_index ARCHIVE APKINDEX KEYS_DIR OTHER_KEYS_DIR PRIVATE_KEY KEY_NAME OTHER_KEY_NAME
 *
 *   ARCHIVE          a signed APKINDEX.tar.gz with DESCRIPTION "capi test repository"
 *   APKINDEX         the same index as plain text
 *   KEYS_DIR         holds KEY_NAME, the public key that signed ARCHIVE
 *   OTHER_KEYS_DIR   holds OTHER_KEY_NAME, an unrelated public key
 *   PRIVATE_KEY      the PEM private key of KEY_NAME
 *
 * The data is made by capi/tests/capi/c_program.rs, which compiles and runs this program.
 * Every failed check is reported on stderr; the exit status is 0 only if all checks passed.
 */

/* First and alone: the header must compile standalone. */
#include "apk.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_str(const char *label, apk_str s) {
    if (s.data == NULL) {
        printf("%s: (none)\n", label);
    } else {
        printf("%s: %.*s\n", label, (int)s.len, s.data);
    }
}

static void test_library_version(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", APK_VERSION_MAJOR, APK_VERSION_MINOR,
             APK_VERSION_PATCH);
    CHECK(strcmp(apk_version_string(), expected) == 0);
    printf("library version: %s\n", apk_version_string());
}

static void test_versions(void) {
    int cmp = 42;

    CHECK_RESULT(apk_version_compare("1.0", "1.0.1", APK_RULES_V3, &cmp), APK_RESULT_OK);
    CHECK(cmp == -1);
    CHECK_RESULT(apk_version_compare("1.0-r1", "1.0-r01", APK_RULES_V3, &cmp), APK_RESULT_OK);
    CHECK(cmp == 0);
    CHECK_RESULT(apk_version_compare("8.2.0", "8.2.001", APK_RULES_V2, &cmp), APK_RESULT_OK);
    CHECK(cmp == 1);
    CHECK_RESULT(apk_version_compare("8.2.0", "8.2.001", APK_RULES_V3, &cmp), APK_RESULT_OK);
    CHECK(cmp == -1);
    CHECK_RESULT(apk_version_compare("1.0_rc1", "1.0", APK_RULES_V3, &cmp), APK_RESULT_OK);
    CHECK(cmp == -1);

    /* Failures leave the output alone and explain themselves. */
    cmp = 42;
    CHECK_RESULT(apk_version_compare("1..2", "1.0", APK_RULES_V3, &cmp),
                 APK_RESULT_INVALID_VERSION);
    CHECK(cmp == 42);
    CHECK(last_error_contains("invalid version '1..2'"));
    CHECK_RESULT(apk_version_compare("1.0", "1.0", 7, &cmp), APK_RESULT_INVALID_RULES);
    CHECK(last_error_contains("unknown version rules 7"));
    CHECK_RESULT(apk_version_compare(NULL, "1.0", APK_RULES_V3, &cmp), APK_RESULT_NULL_PARAMETER);
    CHECK(last_error_contains("`a`"));
    CHECK_RESULT(apk_version_compare("1.0", "1.0", APK_RULES_V3, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK(last_error_contains("result_out"));
    CHECK_RESULT(apk_version_compare("1.0\xff", "1.0", APK_RULES_V3, &cmp), APK_RESULT_INVALID_UTF8);
    CHECK(cmp == 42);

    CHECK(apk_version_validate("1.2.3_rc1-r0", APK_RULES_V3));
    CHECK(apk_version_validate("0.1a1", APK_RULES_V2));
    CHECK(!apk_version_validate("0.1a1", APK_RULES_V3));
    CHECK(!apk_version_validate(NULL, APK_RULES_V3));
    CHECK(!apk_version_validate("1.0", 0));

    CHECK(apk_version_match("1.2.3-r1", APK_OP_GREATER_EQUAL, "1.2", APK_RULES_V3));
    CHECK(!apk_version_match("1.2", APK_OP_LESS, "1.2", APK_RULES_V3));
    CHECK(apk_version_match("3.6.9", APK_OP_FUZZY, "3.6", APK_RULES_V3));
    CHECK(!apk_version_match("3.8", APK_OP_FUZZY, "3.8.1", APK_RULES_V3));
    CHECK(!apk_version_match("1.0", APK_OP_FUZZY_BIT, "1.0", APK_RULES_V3));
    CHECK(!apk_version_match(NULL, APK_OP_EQUAL, "1.0", APK_RULES_V3));
}

static void test_last_error(void) {
    char small[8];
    char message[256];
    size_t full = 0, len = 0;

    CHECK_RESULT(apk_version_compare("1.0", "x", APK_RULES_V3, &(int){0}),
                 APK_RESULT_INVALID_VERSION);
    CHECK_RESULT(apk_last_error(NULL, 0, &full), APK_RESULT_OK);
    CHECK(full > sizeof small);
    memset(small, 'z', sizeof small);
    CHECK_RESULT(apk_last_error(small, sizeof small, &len), APK_RESULT_OK);
    CHECK(len == full);
    CHECK(small[sizeof small - 1] == '\0');
    CHECK(strlen(small) == sizeof small - 1);
    CHECK(strncmp(small, "invalid", 7) == 0);
    CHECK_RESULT(apk_last_error(message, sizeof message, &len), APK_RESULT_OK);
    CHECK(strlen(message) == full);

    /* Bad calls of apk_last_error report themselves without touching the message. */
    CHECK(apk_last_error(NULL, 0, NULL) == APK_RESULT_NULL_PARAMETER);
    CHECK(apk_last_error(NULL, 5, &len) == APK_RESULT_NULL_PARAMETER);
    /* Functions not returning apk_result leave it alone, successful calls too. */
    CHECK(!apk_version_validate(NULL, APK_RULES_V3));
    CHECK_RESULT(apk_version_compare("1", "2", APK_RULES_V3, &(int){0}), APK_RESULT_OK);
    CHECK(last_error_contains("invalid version 'x'"));

    CHECK_RESULT(apk_result_message(APK_RESULT_UNTRUSTED, message, sizeof message, &len),
                 APK_RESULT_OK);
    CHECK(strstr(message, "trusted") != NULL);
    CHECK_RESULT(apk_result_message(12345, message, sizeof message, &len), APK_RESULT_OK);
    CHECK(strstr(message, "unrecognised") != NULL);
    CHECK(last_error_contains("invalid version 'x'"));
}

static void test_dependencies(void) {
    apk_dependency *dep = NULL;

    CHECK_RESULT(apk_dependency_parse("!foo@edge>=1.2", APK_RULES_V3, &dep), APK_RESULT_OK);
    CHECK(dep != NULL);
    CHECK(strcmp(apk_dependency_name(dep), "foo") == 0);
    CHECK(apk_dependency_tag(dep) != NULL && strcmp(apk_dependency_tag(dep), "edge") == 0);
    CHECK(apk_dependency_op(dep) == APK_OP_GREATER_EQUAL);
    CHECK(apk_dependency_version(dep) != NULL && strcmp(apk_dependency_version(dep), "1.2") == 0);
    CHECK(apk_dependency_conflict(dep));
    apk_dependency_free(dep);

    dep = NULL;
    CHECK_RESULT(apk_dependency_parse("so:libc.musl-x86_64.so.1", APK_RULES_V3, &dep),
                 APK_RESULT_OK);
    CHECK(strcmp(apk_dependency_name(dep), "so:libc.musl-x86_64.so.1") == 0);
    CHECK(apk_dependency_tag(dep) == NULL);
    CHECK(apk_dependency_op(dep) == 0);
    CHECK(apk_dependency_version(dep) == NULL);
    CHECK(!apk_dependency_conflict(dep));
    apk_dependency_free(dep);

    dep = NULL;
    CHECK_RESULT(apk_dependency_parse("owfs=3.2p4-r0", APK_RULES_V2, &dep), APK_RESULT_OK);
    apk_dependency_free(dep);
    dep = NULL;
    CHECK_RESULT(apk_dependency_parse("owfs=3.2p4-r0", APK_RULES_V3, &dep),
                 APK_RESULT_INVALID_DEPENDENCY);
    CHECK(dep == NULL);
    CHECK_RESULT(apk_dependency_parse("foo=", APK_RULES_V3, &dep), APK_RESULT_INVALID_DEPENDENCY);
    CHECK(last_error_contains("invalid dependency 'foo='"));
    CHECK(dep == NULL);
    CHECK_RESULT(apk_dependency_parse(NULL, APK_RULES_V3, &dep), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_dependency_parse("foo", APK_RULES_V3, NULL), APK_RESULT_NULL_PARAMETER);

    /* Getters and free accept NULL. */
    CHECK(apk_dependency_name(NULL) == NULL);
    CHECK(apk_dependency_op(NULL) == 0);
    CHECK(!apk_dependency_conflict(NULL));
    apk_dependency_free(NULL);
}

static void test_keys(const char *keys_dir, const char *key_name) {
    apk_keyset *keys = apk_keyset_new();
    char path[4096];
    char *pem;
    size_t pem_len;

    CHECK(keys != NULL);
    CHECK(apk_keyset_len(keys) == 0);
    CHECK_RESULT(apk_keyset_load_dir(keys, keys_dir), APK_RESULT_OK);
    CHECK(apk_keyset_len(keys) == 1);
    CHECK_RESULT(apk_keyset_load_dir(keys, "/nonexistent/apk-rs/keys"), APK_RESULT_IO);
    CHECK(apk_keyset_len(keys) == 1);

    snprintf(path, sizeof path, "%s/%s", keys_dir, key_name);
    pem = read_input(path, &pem_len);
    CHECK_RESULT(apk_keyset_add_pem(keys, "copy.rsa.pub", (const uint8_t *)pem, pem_len),
                 APK_RESULT_OK);
    CHECK(apk_keyset_len(keys) == 2);
    CHECK_RESULT(apk_keyset_add_pem(keys, "junk.rsa.pub", (const uint8_t *)"junk", 4),
                 APK_RESULT_KEY);
    CHECK(apk_keyset_len(keys) == 2);
    CHECK_RESULT(apk_keyset_add_pem(keys, "null.rsa.pub", NULL, 10), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_keyset_add_pem(NULL, "x", (const uint8_t *)pem, pem_len),
                 APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_keyset_load_dir(NULL, keys_dir), APK_RESULT_NULL_PARAMETER);
    free(pem);
    apk_keyset_free(keys);
    apk_keyset_free(NULL);
}

/* print_deps for this program's packages (see check.h). */
DEFINE_PRINT_DEPS(apk_package)

/* Prints every package; returns the busybox package. */
static const apk_package *walk_index(const apk_index *index) {
    const apk_package *busybox = NULL;
    size_t i, n = apk_index_len(index);
    for (i = 0; i < n; i++) {
        const apk_package *pkg = NULL;
        apk_str name, version;
        CHECK_RESULT(apk_index_package(index, i, &pkg), APK_RESULT_OK);
        if (pkg == NULL) {
            continue;
        }
        name = apk_package_name(pkg);
        version = apk_package_version(pkg);
        printf("package %.*s %.*s%s\n", (int)name.len, name.data, (int)version.len,
               version.data, apk_package_installable(pkg) ? "" : " (not installable)");
        print_deps(pkg, "depends", apk_package_depends_len, apk_package_depends_get);
        print_deps(pkg, "provides", apk_package_provides_len, apk_package_provides_get);
        print_deps(pkg, "install_if", apk_package_install_if_len, apk_package_install_if_get);
        if (str_eq(name, "busybox")) {
            busybox = pkg;
        }
    }
    return busybox;
}

static void check_busybox(const apk_package *pkg) {
    char buf[64];
    size_t len = 0;

    CHECK(pkg != NULL);
    if (pkg == NULL) {
        return;
    }
    CHECK(str_eq(apk_package_version(pkg), "1.36.1-r29"));
    CHECK(str_eq(apk_package_arch(pkg), "x86_64"));
    CHECK(str_eq(apk_package_description(pkg),
                 "Size optimized toolbox of many common UNIX utilities"));
    CHECK(str_eq(apk_package_url(pkg), "https://busybox.net/"));
    CHECK(str_eq(apk_package_license(pkg), "GPL-2.0-only"));
    CHECK(str_eq(apk_package_origin(pkg), "busybox"));
    CHECK(str_eq(apk_package_maintainer(pkg), "Sören Tempel <soeren+alpine@soeren-tempel.net>"));
    CHECK(str_eq(apk_package_commit(pkg), "8d1f33a8c1d2e1a4b5c6d7e8f9a0b1c2d3e4f5a6"));
    CHECK(apk_package_size(pkg) == 509829);
    CHECK(apk_package_installed_size(pkg) == 957952);
    CHECK(apk_package_build_time(pkg) == 1712345679);
    CHECK(apk_package_provider_priority(pkg) == 100);
    CHECK(apk_package_installable(pkg));

    CHECK_RESULT(apk_package_identity(pkg, buf, sizeof buf, &len), APK_RESULT_OK);
    CHECK(strcmp(buf, "Q1LxBvJ/ofKKik4CrrENc7ePnJsko=") == 0);
    CHECK(len == strlen("Q1LxBvJ/ofKKik4CrrENc7ePnJsko="));
    printf("busybox identity: %s\n", buf);

    /* Too small: nothing copied, the length needed reported. */
    memset(buf, 'z', sizeof buf);
    len = 0;
    CHECK_RESULT(apk_package_depends_get(pkg, 0, buf, 4, &len), APK_RESULT_INSUFFICIENT_SIZE);
    CHECK(len == strlen("so:libc.musl-x86_64.so.1"));
    CHECK(buf[0] == 'z');
    CHECK_RESULT(apk_package_depends_get(pkg, 0, NULL, 0, &len), APK_RESULT_INSUFFICIENT_SIZE);
    CHECK_RESULT(apk_package_depends_get(pkg, 0, NULL, 10, &len), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_package_depends_get(pkg, 0, buf, sizeof buf, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_package_provides_get(pkg, 1, buf, sizeof buf, &len), APK_RESULT_OK);
    CHECK(strcmp(buf, "cmd:busybox=1.36.1-r29") == 0);
}

static void test_index(const char *archive_path, const char *text_path, const char *keys_dir,
                       const char *other_keys_dir, const char *private_key_path,
                       const char *key_name, const char *other_key_name) {
    apk_keyset *keys = apk_keyset_new();
    apk_keyset *other_keys = apk_keyset_new();
    apk_index *index = NULL, *index2 = NULL;
    const apk_package *pkg = NULL;
    char *archive, *text, *private_key;
    size_t archive_len, text_len, private_key_len;
    uint8_t *written = NULL;
    size_t written_len = 0;

    CHECK_RESULT(apk_keyset_load_dir(keys, keys_dir), APK_RESULT_OK);
    CHECK_RESULT(apk_keyset_load_dir(other_keys, other_keys_dir), APK_RESULT_OK);
    archive = read_input(archive_path, &archive_len);
    text = read_input(text_path, &text_len);
    private_key = read_input(private_key_path, &private_key_len);

    /* From the file, verified. */
    CHECK_RESULT(apk_index_load_file(archive_path, keys, APK_RULES_V3, &index), APK_RESULT_OK);
    CHECK(apk_index_len(index) == 4);
    CHECK(str_eq(apk_index_signed_by(index), key_name));
    CHECK(str_eq(apk_index_description(index), "capi test repository"));
    print_str("signed by", apk_index_signed_by(index));
    print_str("description", apk_index_description(index));
    check_busybox(walk_index(index));
    CHECK_RESULT(apk_index_package(index, 4, &pkg), APK_RESULT_OUT_OF_RANGE);
    CHECK(pkg == NULL);
    CHECK_RESULT(apk_index_package(index, 0, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_index_package(index, 3, &pkg), APK_RESULT_OK);
    CHECK(str_eq(apk_package_name(pkg), "broken"));
    CHECK(!apk_package_installable(pkg));
    CHECK(apk_package_arch(pkg).data == NULL && apk_package_origin(pkg).data == NULL);
    CHECK_RESULT(apk_package_identity(pkg, NULL, 0, &text_len), APK_RESULT_INSUFFICIENT_SIZE);
    CHECK(text_len == 0);
    apk_index_free(index);

    /* From memory, verified. */
    index = NULL;
    CHECK_RESULT(apk_index_load_buffer((const uint8_t *)archive, archive_len, keys, APK_RULES_V3,
                                       &index),
                 APK_RESULT_OK);
    CHECK(apk_index_len(index) == 4);
    apk_index_free(index);

    /* Plain text: nothing to verify, no description. */
    index = NULL;
    text_len = strlen(text);
    CHECK_RESULT(apk_index_load_text((const uint8_t *)text, text_len, APK_RULES_V3, &index),
                 APK_RESULT_OK);
    CHECK(apk_index_len(index) == 4);
    CHECK(apk_index_signed_by(index).data == NULL);
    CHECK(apk_index_description(index).data == NULL);
    apk_index_free(index);
    index = NULL;
    CHECK_RESULT(apk_index_load_text(NULL, 0, APK_RULES_V3, &index), APK_RESULT_OK);
    CHECK(apk_index_len(index) == 0);
    apk_index_free(index);

    /* Failures: nothing is stored in the output. */
    index = NULL;
    CHECK_RESULT(apk_index_load_file(archive_path, other_keys, APK_RULES_V3, &index),
                 APK_RESULT_UNTRUSTED);
    CHECK(last_error_contains(key_name));
    CHECK(index == NULL);
    CHECK_RESULT(apk_index_load_file("/nonexistent/APKINDEX.tar.gz", keys, APK_RULES_V3, &index),
                 APK_RESULT_IO);
    CHECK(last_error_contains("/nonexistent/APKINDEX.tar.gz"));
    CHECK_RESULT(apk_index_load_buffer((const uint8_t *)text, text_len, NULL, APK_RULES_V3, &index),
                 APK_RESULT_ARCHIVE);
    CHECK_RESULT(apk_index_load_file(NULL, keys, APK_RULES_V3, &index), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_index_load_file(archive_path, keys, APK_RULES_V3, NULL),
                 APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_index_load_file(archive_path, keys, 1, &index), APK_RESULT_INVALID_RULES);
    CHECK(index == NULL);

    /* Unsigned archive written here: loads without keys, UNSIGNED with them. */
    CHECK_RESULT(apk_index_write_archive((const uint8_t *)text, text_len, NULL, NULL, NULL,
                                         &written, &written_len),
                 APK_RESULT_OK);
    CHECK_RESULT(apk_index_load_buffer(written, written_len, keys, APK_RULES_V3, &index),
                 APK_RESULT_UNSIGNED);
    CHECK_RESULT(apk_index_load_buffer(written, written_len, NULL, APK_RULES_V3, &index),
                 APK_RESULT_OK);
    CHECK(apk_index_len(index) == 4);
    apk_index_free(index);
    index = NULL;
    apk_bytes_free(written, written_len);

    /* Signed archive written here, verified by the key loaded from KEYS_DIR. */
    written = NULL;
    CHECK_RESULT(apk_index_write_archive((const uint8_t *)text, text_len, "written from C",
                                         private_key, key_name, &written, &written_len),
                 APK_RESULT_OK);
    CHECK_RESULT(apk_index_load_buffer(written, written_len, keys, APK_RULES_V3, &index),
                 APK_RESULT_OK);
    CHECK(str_eq(apk_index_description(index), "written from C"));
    CHECK(str_eq(apk_index_signed_by(index), key_name));
    apk_bytes_free(written, written_len);

    /* Signed by our key under the other key's name: that key is trusted but does not match. */
    written = NULL;
    CHECK_RESULT(apk_index_write_archive((const uint8_t *)text, text_len, NULL, private_key,
                                         other_key_name, &written, &written_len),
                 APK_RESULT_OK);
    CHECK_RESULT(apk_index_load_buffer(written, written_len, other_keys, APK_RULES_V3, &index2),
                 APK_RESULT_BAD_SIGNATURE);
    CHECK(index2 == NULL);
    apk_bytes_free(written, written_len);

    written = NULL;
    CHECK_RESULT(apk_index_write_archive((const uint8_t *)text, text_len, NULL, "not a key",
                                         key_name, &written, &written_len),
                 APK_RESULT_KEY);
    CHECK_RESULT(apk_index_write_archive((const uint8_t *)text, text_len, NULL, private_key, NULL,
                                         &written, &written_len),
                 APK_RESULT_NULL_PARAMETER);
    CHECK(written == NULL);
    apk_bytes_free(NULL, 0);

    /* Getters accept NULL. */
    CHECK(apk_index_len(NULL) == 0);
    CHECK(apk_index_description(NULL).data == NULL);
    CHECK(apk_package_name(NULL).data == NULL && apk_package_name(NULL).len == 0);
    CHECK(apk_package_size(NULL) == 0);
    CHECK(!apk_package_installable(NULL));
    CHECK(apk_package_depends_len(NULL) == 0);

    apk_index_free(index);
    apk_index_free(NULL);
    apk_keyset_free(keys);
    apk_keyset_free(other_keys);
    free(archive);
    free(text);
    free(private_key);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr,
                "usage: %s ARCHIVE APKINDEX KEYS_DIR OTHER_KEYS_DIR PRIVATE_KEY KEY_NAME "
                "OTHER_KEY_NAME\n",
                argv[0]);
        return 2;
    }
    test_library_version();
    test_versions();
    test_last_error();
    test_dependencies();
    test_keys(argv[3], argv[6]);
    test_index(argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]);

    return checks_finish();
}
