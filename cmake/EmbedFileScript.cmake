file(READ ${INPUT} content)
# The symbol lives in the library's inline ABI namespace, like every other declaration.
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"apportion/config.hpp\"\nAPPORTION_BEGIN_NAMESPACE\nnamespace detail {\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = R\"apportion_embed(${content})apportion_embed\";\n}\nAPPORTION_END_NAMESPACE\n")
