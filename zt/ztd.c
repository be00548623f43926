/* ztd: the zt daemon. */
#include "config.h"

#include <stdio.h>

#include "internal.h"

int main(int argc, char **argv)
{
	(void)argc; (void)argv;
	printf("ztd %s\n", PACKAGE_VERSION);
	return 0;
}
