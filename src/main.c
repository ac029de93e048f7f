#include "autoconfig.h"
#include "config.h"
#include <stdio.h>
int main(void)
{
    char err[256];
    if (config_load(err, sizeof err)) { fprintf(stderr, "%s\n", err); return 2; }
    return 0;
}
