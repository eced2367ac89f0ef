# Turns one eBPF source from bpf_text/ into a C string constant, with the
# bpf_text/ headers it includes by "name" inlined (libbcc compiles the text
# from memory, where no relative include can be found).
#   cmake -DSRC=file.bpf.c -DOUT=file.c -DVAR=symbol -P embed.cmake
get_filename_component(dir "${SRC}" DIRECTORY)
file(READ "${SRC}" text)
string(REGEX MATCHALL "#include \"[^\"]+\"" local_includes "${text}")
foreach(line IN LISTS local_includes)
  string(REGEX REPLACE "#include \"([^\"]+)\"" "\\1" name "${line}")
  file(READ "${dir}/${name}" included)
  string(REPLACE "${line}" "${included}" text "${text}")
endforeach()
string(HEX "${text}" hex)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* generated from ${SRC} by cmake/embed.cmake */\nconst char ${VAR}[] = {${bytes} 0x00};\n")
