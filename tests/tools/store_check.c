/* store_check - verify a task store file offline (read-only; no lock).
 *   usage: store_check FILE   -> prints each problem, exit 0 clean, 1 not */
#include "autoconfig.h"

#include <stdio.h>

#include "taskstore.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    int problems = taskstore_check_file(argv[1], stderr);
    printf("%s: %s (%d problem%s)\n", argv[1],
           problems ? "INCONSISTENT" : "consistent", problems,
           problems == 1 ? "" : "s");
    return problems ? 1 : 0;
}
