/*
 * Exercises the solver part of the C API of apk-rs through include/apk.h.
 *
 * Usage: test_solver APKINDEX INSTALLED
 *
 *   APKINDEX    plain APKINDEX text: a-2 (needs b), b-1, c-1 (conflicts with a), and t-2
 *               (needs p and q, which both provide v=1) next to t-1
 *   INSTALLED   an installed database holding old-1, which no world entry keeps
 *
 * The data is made by capi/tests/capi/solver_program.rs, which compiles and runs this
 * program and checks the lines it prints. Every failed check is reported on stderr; the exit
 * status is 0 only if all checks passed.
 */

/* First and alone: the header must compile standalone. */
#include "apk.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(apk_change_kind kind) {
    switch (kind) {
    case APK_CHANGE_KIND_INSTALL: return "install";
    case APK_CHANGE_KIND_UPGRADE: return "upgrade";
    case APK_CHANGE_KIND_DOWNGRADE: return "downgrade";
    case APK_CHANGE_KIND_REPLACE: return "replace";
    case APK_CHANGE_KIND_REINSTALL: return "reinstall";
    case APK_CHANGE_KIND_PURGE: return "purge";
    case APK_CHANGE_KIND_UPDATE_PINNING: return "update-pinning";
    default: return "other";
    }
}

/* Prints "change: KIND NAME OLD NEW" for every change, "-" for an absent version. */
static void print_changes(const apk_changeset *cs) {
    size_t i, n = apk_changeset_len(cs);
    for (i = 0; i < n; i++) {
        apk_change c;
        CHECK_RESULT(apk_changeset_change(cs, i, &c), APK_RESULT_OK);
        printf("change: %s %.*s %.*s %.*s\n", kind_name(c.kind), (int)c.name.len, c.name.data,
               c.old_version.data ? (int)c.old_version.len : 1,
               c.old_version.data ? c.old_version.data : "-",
               c.new_version.data ? (int)c.new_version.len : 1,
               c.new_version.data ? c.new_version.data : "-");
    }
}

/* Solves `world` and prints its changes; returns the result code. */
static apk_result solve(const apk_solver *solver, const char *world, int engine,
                        int *differs_out) {
    apk_changeset *cs = NULL;
    apk_result r = apk_solver_solve(solver, (const uint8_t *)world, strlen(world), engine, &cs);
    if (r == APK_RESULT_OK) {
        apk_str t = apk_changeset_transcript(cs);
        CHECK(t.data != NULL && t.len > 0);
        printf("world '%s' (engine %d):\n", world, engine);
        print_changes(cs);
        printf("transcript:\n%.*s", (int)t.len, t.data);
        *differs_out = apk_changeset_differs_from_apk(cs);
        apk_changeset_free(cs);
    } else {
        CHECK(cs == NULL);
    }
    return r;
}

int main(int argc, char **argv) {
    size_t index_len = 0, installed_len = 0, len = 0;
    char *index_text, *installed;
    apk_index *index = NULL;
    apk_solver *solver = NULL;
    apk_changeset *cs = NULL;
    int differs = -1;
    char report[1024];

    if (argc != 3) {
        fprintf(stderr, "usage: test_solver APKINDEX INSTALLED\n");
        return 2;
    }
    index_text = read_input(argv[1], &index_len);
    installed = read_input(argv[2], &installed_len);

    CHECK_RESULT(apk_index_load_text((const uint8_t *)index_text, index_len, APK_RULES_V3, &index),
                 APK_RESULT_OK);
    {
        const apk_index *indexes[1];
        indexes[0] = index;
        /* Misuse: NULL output, NULL element. */
        CHECK_RESULT(apk_solver_new(indexes, 1, NULL, 0, NULL, NULL), APK_RESULT_NULL_PARAMETER);
        indexes[0] = NULL;
        CHECK_RESULT(apk_solver_new(indexes, 1, NULL, 0, NULL, &solver), APK_RESULT_NULL_PARAMETER);
        CHECK(solver == NULL);
        CHECK_RESULT(apk_solver_new(NULL, 0, (const uint8_t *)"no colon\n", 9, NULL, &solver),
                     APK_RESULT_INSTALLED_DB);
        CHECK(solver == NULL);
        indexes[0] = index;
        CHECK_RESULT(apk_solver_new(indexes, 1, (const uint8_t *)installed, installed_len,
                                    "x86_64", &solver),
                     APK_RESULT_OK);
    }
    /* The solver copied what it needs. */
    apk_index_free(index);
    free(index_text);
    free(installed);

    /* A plain solve: the unneeded installed package goes, a and its dependency come. */
    CHECK_RESULT(solve(solver, "a", APK_ENGINE_AUTO, &differs), APK_RESULT_OK);
    CHECK(differs == 0);

    /* apk's greedy pass takes t-2 and fails; the default falls back to the complete search. */
    CHECK_RESULT(solve(solver, "t", APK_ENGINE_GREEDY, &differs), APK_RESULT_UNSATISFIABLE);
    CHECK_RESULT(solve(solver, "t", APK_ENGINE_AUTO, &differs), APK_RESULT_OK);
    CHECK(differs == 1);

    /* Unsatisfiable: the report is the last error. */
    CHECK_RESULT(solve(solver, "a c", APK_ENGINE_AUTO, &differs), APK_RESULT_UNSATISFIABLE);
    CHECK_RESULT(apk_last_error(report, sizeof report, &len), APK_RESULT_OK);
    CHECK(len < sizeof report);
    CHECK(strncmp(report, "ERROR: unable to select packages:\n", 34) == 0);
    printf("report:\n%s", report);

    /* Misuse. */
    CHECK_RESULT(apk_solver_solve(solver, (const uint8_t *)"a", 1, 7, &cs),
                 APK_RESULT_INVALID_FLAGS);
    CHECK_RESULT(apk_solver_solve(solver, (const uint8_t *)"a<<", 3, APK_ENGINE_AUTO, &cs),
                 APK_RESULT_INVALID_WORLD);
    CHECK_RESULT(apk_solver_solve(NULL, (const uint8_t *)"a", 1, APK_ENGINE_AUTO, &cs),
                 APK_RESULT_NULL_PARAMETER);
    CHECK(cs == NULL);
    CHECK(apk_changeset_len(NULL) == 0);
    CHECK(apk_changeset_transcript(NULL).data == NULL);
    CHECK(!apk_changeset_differs_from_apk(NULL));
    {
        apk_change c;
        CHECK_RESULT(apk_changeset_change(NULL, 0, &c), APK_RESULT_NULL_PARAMETER);
    }
    apk_changeset_free(NULL);
    apk_solver_free(solver);
    apk_solver_free(NULL);

    return checks_finish();
}
