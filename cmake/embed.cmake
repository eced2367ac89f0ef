# Turns one eBPF source from bpf_text/ into a C string constant, with the
# bpf_text/ headers it includes by "name" inlined (libbcc compiles the text
# from memory, where no relative include can be found). Included headers
# may include others (bpf_text/dns_question.h, shared with user space, is
# included by policy_cgroup.bpf.h): inlining repeats until none is left,
# and the headers' guards keep a second copy empty.
#   cmake -DSRC=file.bpf.c -DOUT=file.c -DVAR=symbol -P embed.cmake
get_filename_component(dir "${SRC}" DIRECTORY)
file(READ "${SRC}" text)
foreach(depth RANGE 4)
  string(REGEX MATCHALL "#include \"[^\"]+\"" local_includes "${text}")
  if(NOT local_includes)
    break()
  endif()
  foreach(line IN LISTS local_includes)
    string(REGEX REPLACE "#include \"([^\"]+)\"" "\\1" name "${line}")
    file(READ "${dir}/${name}" included)
    string(REPLACE "${line}" "${included}" text "${text}")
  endforeach()
endforeach()
string(REGEX MATCHALL "#include \"[^\"]+\"" local_includes "${text}")
if(local_includes)
  message(FATAL_ERROR "${SRC}: bpf_text includes nested more than 5 deep")
endif()
string(HEX "${text}" hex)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* generated from ${SRC} by cmake/embed.cmake */\nconst char ${VAR}[] = {${bytes} 0x00};\n")
