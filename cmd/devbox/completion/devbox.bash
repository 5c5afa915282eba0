# bash completion for devbox: source <(devbox completion bash)
_devbox() {
  local IFS=$'\n' line=${COMP_LINE:0:COMP_POINT} words=() w i cur pre
  # bash splits words at = and : too (COMP_WORDBREAKS): glue back the
  # pieces no blank separated, so devbox sees --flag=value as typed.
  line=${line#*"${COMP_WORDS[0]}"}
  for ((i = 1; i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ ${#words[@]} -eq 0 || $line == [[:blank:]]* ]]; then words+=("$w"); else words[-1]+=$w; fi
    line=${line#"${line%%[![:blank:]]*}"}
    line=${line#"$w"}
  done
  # bash replaces only the text after the last = or :.
  cur=${words[-1]} pre=${words[-1]%"${COMP_WORDS[COMP_CWORD]}"}
  [[ $pre == *[=:] ]] || pre=
  [[ ${COMP_WORDS[COMP_CWORD]} == [=:] ]] && pre=$cur
  COMPREPLY=($(devbox __complete "${words[@]}" 2>/dev/null))
  COMPREPLY=("${COMPREPLY[@]#"$pre"}")
}
complete -o default -F _devbox devbox
