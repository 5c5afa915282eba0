# fish completion for devbox: devbox completion fish | source
function __devbox_complete
    set -l words (commandline -opc)
    devbox __complete $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c devbox -f -a '(__devbox_complete)'
