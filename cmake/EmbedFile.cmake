# apportion_embed_file(INPUT OUTPUT SYMBOL): writes a C++ file defining
# `extern const char apportion::detail::SYMBOL[]` with the text of INPUT, regenerated when
# INPUT changes. Raw string literals keep the text byte for byte.
function(apportion_embed_file input output symbol)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${output} -DSYMBOL=${symbol}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedFileScript.cmake
    DEPENDS ${input} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/EmbedFileScript.cmake
    COMMENT "Embedding ${input}")
endfunction()
