/* A shared library that is not a nurture plugin. */
__attribute__((visibility("default"))) int something_else(void) { return 42; }
