#compdef devbox
# zsh completion for devbox: source <(devbox completion zsh)
_devbox() {
  local -a candidates
  candidates=("${(@f)$(devbox __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if (( ${#candidates} )) && [[ -n ${candidates[1]} ]]; then
    compadd -a candidates
  else
    _files
  fi
}
if (( $+functions[compdef] )); then
  compdef _devbox devbox
fi
