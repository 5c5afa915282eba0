# bash completion for devbox: source <(devbox completion bash)
_devbox() {
  local IFS=$'\n'
  COMPREPLY=($(devbox __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _devbox devbox
