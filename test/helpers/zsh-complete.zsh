# What zsh's completion offers for a command line, as an interactive zsh would when Tab is pressed,
# one match a line. Usage: zsh -f zsh-complete.zsh <folder with the _command file> <line>
# (for test/package/install.test.ts). zsh completes only inside its line editor, so an interactive
# zsh runs in a pseudo-terminal (zpty); compadd is wrapped to print each match between markers.
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; unsetopt zle_bracketed_paste 2>/dev/null; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
# Every match the completion adds is printed between markers, instead of being shown.
zpty -w z 'compadd() { builtin compadd -O __m "$@"; (( ${#__m} )) && print -l -- "<M>"${^__m}; builtin compadd "$@" }'
zpty -w z 'zstyle ":completion:*" list-prompt ""; zstyle ":completion:*" menu no'
zpty -w z "bindkey '^I' complete-word; echo '<READY>'"
zpty -r z line '*<READY>*' >/dev/null
zpty -n -w z "${2}"$'\t'
sleep 1
zpty -w z $'\C-u'"echo '<DONE>'"
# The echo's command line, then its output: both markers seen (or 10 s gone) means all is read.
out=""
for i in {1..50}; do
  if zpty -r -t z chunk 2>/dev/null; then out+=$chunk; else sleep 0.2; fi
  [[ $out == *'<DONE>'*'<DONE>'* ]] && break
done
print -r -- "$out" | tr -d '\r' | grep -a -o '<M>[^<[:space:]]*' | sed 's/^<M>//' | sort -u
zpty -d z
