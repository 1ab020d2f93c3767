/*
 * Exercises the database part of the C API of apk-rs through include/apk.h.
 *
 * Usage: test_db ROOT ARCH
 *
 *   ROOT   a root without a database, whose etc/apk/keys trusts the key that signed the
 *          repository named in etc/apk/repositories; that repository (for ARCH) holds
 *          hello-1.0-r0 (usr/bin/hello, usr/share/hello/greeting.txt and a post-install
 *          script; needs so:libgreet.so.1) and libgreet-2.1-r0 (usr/lib/libgreet.so.1),
 *          and lists ghost-1-r0, whose package file is missing.
 *          A second repository line names a directory that does not exist.
 *   ARCH   the architecture of the repository
 *
 * The program installs hello (simulated first, then for real without scripts), fails to
 * install a package no repository has, fails part way installing ghost (and opens the root
 * again, which repairs it), removes hello again, and checks the database and the files on
 * disk at each step. The data is made by capi/tests/capi/db_program.rs, which
 * compiles and runs this program and checks the lines it prints and the root it leaves.
 * Every failed check is reported on stderr; the exit status is 0 only if all checks passed.
 */

/* First and alone: the header must compile standalone. */
#include "apk.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 16

/* The files the installed packages own, copied before the commit that removes them
 * invalidates the database's strings. */
static char owned_files[MAX_FILES][256];
static size_t owned_count = 0;

/* Whether the file ROOT/`path` can be opened. */
static int file_exists(const char *root, const char *path) {
    char full[4096];
    FILE *f;
    snprintf(full, sizeof full, "%s/%s", root, path);
    f = fopen(full, "rb");
    if (f != NULL) {
        fclose(f);
        return 1;
    }
    return 0;
}

/* Prints each transcript line of `result` as "LABEL: LINE" and checks the line protocol. */
static void print_transcript(const apk_commit_result *result, const char *label) {
    size_t i, n = apk_commit_result_lines_len(result);
    CHECK(n > 0);
    for (i = 0; i < n; i++) {
        const char *line = apk_commit_result_line(result, i);
        CHECK(line != NULL);
        printf("%s: %s\n", label, line != NULL ? line : "(null)");
    }
    CHECK(apk_commit_result_line(result, n) == NULL);
}

/* Commits `db` with `flags`, which must succeed with no errors; prints the transcript. */
static void commit(apk_db *db, uint32_t flags, const char *label) {
    apk_commit_result *result = NULL;
    CHECK_RESULT(apk_db_commit(db, flags, &result), APK_RESULT_OK);
    CHECK(result != NULL);
    print_transcript(result, label);
    CHECK(apk_commit_result_errors(result) == 0);
    printf("%s: %zu packages, %llu bytes\n", label, apk_commit_result_packages(result),
           (unsigned long long)apk_commit_result_installed_size(result));
    apk_commit_result_free(result);
}

/* Prints the installed packages and their files, checks the files are on disk, and
 * remembers their paths in owned_files. */
static void print_installed(const apk_db *db, const char *root) {
    size_t i, j, n = apk_db_installed_len(db);
    for (i = 0; i < n; i++) {
        const char *name = apk_db_installed_name(db, i);
        const char *version = apk_db_installed_version(db, i);
        size_t files = apk_db_installed_files_len(db, i);
        CHECK(name != NULL && version != NULL);
        printf("installed: %s %s\n", name, version);
        for (j = 0; j < files; j++) {
            const char *path = apk_db_installed_file(db, i, j);
            CHECK(path != NULL && path[0] != '/');
            printf("  file: %s\n", path);
            CHECK(file_exists(root, path));
            if (owned_count < MAX_FILES && strlen(path) < sizeof owned_files[0]) {
                strcpy(owned_files[owned_count++], path);
            }
        }
        CHECK(apk_db_installed_file(db, i, files) == NULL);
    }
    CHECK(apk_db_installed_name(db, n) == NULL);
    CHECK(apk_db_installed_version(db, n) == NULL);
    CHECK(apk_db_installed_files_len(db, n) == 0);
    CHECK(apk_db_installed_file(db, n, 0) == NULL);
}

/* Whether world is exactly the `n` entries of `entries`. */
static int world_is(const apk_db *db, const char *const *entries, size_t n) {
    size_t i;
    if (apk_db_world_len(db) != n || apk_db_world_entry(db, n) != NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *entry = apk_db_world_entry(db, i);
        if (entry == NULL || strcmp(entry, entries[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Opening: misuse, a root without a database, the lock. Returns the writable handle. */
static apk_db *test_open(const char *root, const char *arch) {
    apk_db *db = NULL, *other = NULL;

    CHECK_RESULT(apk_db_open(NULL, arch, APK_DB_INITDB, &db), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_open(root, arch, APK_DB_INITDB, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_open(root, arch, 0x100, &db), APK_RESULT_INVALID_FLAGS);
    CHECK_RESULT(apk_db_open(root, arch, APK_DB_INITDB | APK_DB_READ_ONLY, &db),
                 APK_RESULT_INVALID_FLAGS);
    CHECK(last_error_contains("APK_DB_READ_ONLY"));
    CHECK_RESULT(apk_db_open(root, arch, 0, &db), APK_RESULT_NO_DATABASE);
    CHECK(last_error_contains("lib/apk/db/installed"));
    CHECK(db == NULL);

    CHECK_RESULT(apk_db_open(root, arch, APK_DB_INITDB, &db), APK_RESULT_OK);
    CHECK(db != NULL);
    CHECK(apk_db_installed_len(db) == 0);
    CHECK(apk_db_world_len(db) == 0);
    CHECK(apk_db_world_entry(db, 0) == NULL);

    /* One writable handle at a time; a read-only one takes no lock. */
    CHECK_RESULT(apk_db_open(root, arch, 0, &other), APK_RESULT_LOCKED);
    CHECK(other == NULL);
    CHECK_RESULT(apk_db_open(root, NULL, APK_DB_READ_ONLY, &other), APK_RESULT_OK);
    apk_db_free(other);
    return db;
}

/* World editing. */
static void test_world(apk_db *db) {
    static const char *const one[] = {"hello"};
    static const char *const two[] = {"hello", "zed>=2"};
    static const char *const replaced[] = {"hello", "zed<3"};

    CHECK_RESULT(apk_db_world_add(db, "zed>=2"), APK_RESULT_OK);
    CHECK_RESULT(apk_db_world_add(db, "hello"), APK_RESULT_OK);
    CHECK(world_is(db, two, 2));
    CHECK_RESULT(apk_db_world_add(db, "zed<3"), APK_RESULT_OK);
    CHECK(world_is(db, replaced, 2));
    CHECK_RESULT(apk_db_world_add(db, "bad<<"), APK_RESULT_INVALID_WORLD);
    CHECK_RESULT(apk_db_world_del(db, "zed"), APK_RESULT_OK);
    CHECK_RESULT(apk_db_world_del(db, "not-in-world"), APK_RESULT_OK);
    CHECK(world_is(db, one, 1));

    CHECK_RESULT(apk_db_world_add(NULL, "hello"), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_world_add(db, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_world_add(db, "\xff"), APK_RESULT_INVALID_UTF8);
    CHECK_RESULT(apk_db_world_del(NULL, "hello"), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_world_del(db, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK(world_is(db, one, 1));
}

/* Install hello: simulated (nothing changes), then for real without scripts. */
static void test_install(apk_db *db, const char *root) {
    apk_commit_result *result = NULL;

    CHECK_RESULT(apk_db_commit(db, 0x100, &result), APK_RESULT_INVALID_FLAGS);
    CHECK_RESULT(apk_db_commit(db, 0, NULL), APK_RESULT_NULL_PARAMETER);
    CHECK_RESULT(apk_db_commit(NULL, 0, &result), APK_RESULT_NULL_PARAMETER);
    CHECK(result == NULL);

    commit(db, APK_COMMIT_SIMULATE, "simulate");
    CHECK(apk_db_installed_len(db) == 0);
    CHECK(!file_exists(root, "usr/bin/hello"));

    commit(db, APK_COMMIT_NO_SCRIPTS, "install");
    CHECK(apk_db_installed_len(db) == 2);
    print_installed(db, root);
    CHECK(owned_count == 3);
    CHECK(file_exists(root, "usr/bin/hello"));
    CHECK(file_exists(root, "usr/lib/libgreet.so.1"));
}

/* A read-only handle sees what the commit wrote, and can only simulate. */
static void test_read_only(const char *root) {
    static const char *const one[] = {"hello"};
    apk_db *ro = NULL;
    apk_commit_result *result = NULL;

    CHECK_RESULT(apk_db_open(root, NULL, APK_DB_READ_ONLY, &ro), APK_RESULT_OK);
    CHECK(apk_db_installed_len(ro) == 2);
    CHECK(world_is(ro, one, 1));
    CHECK_RESULT(apk_db_commit(ro, 0, &result), APK_RESULT_READ_ONLY);
    CHECK(result == NULL);
    commit(ro, APK_COMMIT_SIMULATE, "read-only");
    apk_db_free(ro);
}

/* A world no package satisfies: apk's report, and nothing changes. */
static void test_unsatisfiable(apk_db *db, const char *root) {
    static const char *const one[] = {"hello"};
    apk_commit_result *result = NULL;
    char report[2048];
    size_t len = 0;

    CHECK_RESULT(apk_db_world_add(db, "missing"), APK_RESULT_OK);
    CHECK_RESULT(apk_db_commit(db, 0, &result), APK_RESULT_UNSATISFIABLE);
    CHECK(result == NULL);
    CHECK_RESULT(apk_last_error(report, sizeof report, &len), APK_RESULT_OK);
    CHECK(len > 0 && len < sizeof report && report[len - 1] == '\n');
    CHECK(strstr(report, "ERROR: unable to select packages:\n") != NULL);
    printf("report:\n%s", report);
    CHECK(apk_db_installed_len(db) == 2);
    CHECK(file_exists(root, "usr/bin/hello"));
    CHECK_RESULT(apk_db_world_del(db, "missing"), APK_RESULT_OK);
    CHECK(world_is(db, one, 1));
}

/* A commit that fails part way (ghost's file is missing): nothing of ghost is left, the
 * handle stays usable, and a new handle sees the same consistent root. Returns it. */
static apk_db *test_interrupted(apk_db *db, const char *root, const char *arch) {
    static const char *const one[] = {"hello"};
    apk_commit_result *result = NULL;

    CHECK_RESULT(apk_db_world_add(db, "ghost"), APK_RESULT_OK);
    CHECK_RESULT(apk_db_commit(db, APK_COMMIT_NO_SCRIPTS, &result), APK_RESULT_IO);
    CHECK(last_error_contains("ghost-1-r0.apk"));
    CHECK(result == NULL);
    CHECK(apk_db_installed_len(db) == 2);
    CHECK(!file_exists(root, "usr/share/ghost"));
    CHECK_RESULT(apk_db_world_del(db, "ghost"), APK_RESULT_OK);
    CHECK(world_is(db, one, 1));
    apk_db_free(db);

    db = NULL;
    CHECK_RESULT(apk_db_open(root, arch, 0, &db), APK_RESULT_OK);
    CHECK(apk_db_installed_len(db) == 2);
    CHECK(world_is(db, one, 1));
    CHECK(!file_exists(root, "usr/share/ghost"));
    return db;
}

/* Remove hello: its dependency goes too, and so do all their files. */
static void test_remove(apk_db *db, const char *root) {
    size_t i;

    CHECK_RESULT(apk_db_world_del(db, "hello"), APK_RESULT_OK);
    CHECK(apk_db_world_len(db) == 0);
    commit(db, 0, "remove");
    CHECK(apk_db_installed_len(db) == 0);
    CHECK(apk_db_installed_name(db, 0) == NULL);
    for (i = 0; i < owned_count; i++) {
        CHECK(!file_exists(root, owned_files[i]));
    }
}

/* Getters and frees accept NULL. */
static void test_null(void) {
    CHECK(apk_db_installed_len(NULL) == 0);
    CHECK(apk_db_installed_name(NULL, 0) == NULL);
    CHECK(apk_db_installed_version(NULL, 0) == NULL);
    CHECK(apk_db_installed_files_len(NULL, 0) == 0);
    CHECK(apk_db_installed_file(NULL, 0, 0) == NULL);
    CHECK(apk_db_world_len(NULL) == 0);
    CHECK(apk_db_world_entry(NULL, 0) == NULL);
    CHECK(apk_commit_result_lines_len(NULL) == 0);
    CHECK(apk_commit_result_line(NULL, 0) == NULL);
    CHECK(apk_commit_result_errors(NULL) == 0);
    CHECK(apk_commit_result_installed_size(NULL) == 0);
    CHECK(apk_commit_result_packages(NULL) == 0);
    apk_commit_result_free(NULL);
    apk_db_free(NULL);
}

int main(int argc, char **argv) {
    const char *root, *arch;
    apk_db *db;

    if (argc != 3) {
        fprintf(stderr, "usage: test_db ROOT ARCH\n");
        return 2;
    }
    root = argv[1];
    arch = argv[2];

    db = test_open(root, arch);
    test_world(db);
    test_install(db, root);
    test_read_only(root);
    test_unsatisfiable(db, root);
    db = test_interrupted(db, root, arch);
    test_remove(db, root);
    test_null();
    apk_db_free(db);

    /* The lock went with the handle. */
    CHECK_RESULT(apk_db_open(root, arch, 0, &db), APK_RESULT_OK);
    CHECK(apk_db_installed_len(db) == 0);
    apk_db_free(db);

    return checks_finish();
}
