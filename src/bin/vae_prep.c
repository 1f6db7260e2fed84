/* placeholder main, replaced by its issue */
#include <stdio.h>
int main(void) { return 1; }
