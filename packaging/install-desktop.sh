#!/usr/bin/env bash
# Desktop integration on Linux: the .desktop entry, the icons (hicolor theme, every size) and
# the AppStream metainfo, for the current user (default) or under PREFIX (e.g. /usr/local).
#   packaging/install-desktop.sh            -> ~/.local/share
#   PREFIX=/usr/local sudo -E packaging/install-desktop.sh
# The entry runs `workbench` (on PATH, else this checkout's .venv) or, when EXEC is given,
# that program, e.g. the bundle:
#   EXEC=dist/mtl-workbench/mtl-workbench packaging/install-desktop.sh
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
SHARE=${PREFIX:+$PREFIX/share}
SHARE=${SHARE:-${XDG_DATA_HOME:-$HOME/.local/share}}
refuse() { echo "install-desktop.sh: $*" >&2; exit 2; }
# The entry names the program by its absolute path: a desktop session's PATH seldom holds a
# venv, and launchers hide an entry whose program they cannot find (without a word).
program=${EXEC:-}
if [[ -z "$program" ]]; then
  if found=$(command -v workbench); then program=$found
  elif [[ -x .venv/bin/workbench ]]; then program=$PWD/.venv/bin/workbench
  else refuse "no workbench program: not on PATH and no .venv/bin/workbench (make .venv/.installed); or give EXEC=/path/to/program"
  fi
fi
if [[ "$program" == *[[:cntrl:]]* ]]; then
  refuse "EXEC holds a control character (a newline?): $(printf %q "$program")"
fi
[[ "$program" == "~/"* ]] && program=$HOME/${program#\~/}
if [[ "$program" != */* ]]; then  # a bare name: the one on PATH
  found=$(command -v -- "$program") || refuse "EXEC=$program is not on PATH; give its absolute path"
  program=$found
elif [[ "$program" != /* ]]; then  # relative to where this script was started
  program=$here/$program
fi
[[ -f "$program" && -x "$program" ]] || refuse "EXEC=$program is not a program file (not there, or not executable)"
if [[ "$program" == *%* ]]; then  # GLib looks for the program before it reads %% as %
  refuse "EXEC=$program holds %, which desktop launchers refuse in a program's path; move or link the program elsewhere"
fi
install -d "$SHARE/applications" "$SHARE/metainfo"
# The Desktop Entry spec: a path with a space or a reserved character is double-quoted, with
# \ " ` $ escaped inside the quotes; then the file's own string escape doubles each \, and
# % is written %%. TryExec is a plain string value. (sed read & and | in the path as its own.)
try=${program//\\/\\\\}
command_line=$program
if [[ "$program" =~ [^A-Za-z0-9_./+,:@=-] ]]; then
  quoted=${program//\\/\\\\}
  quoted=${quoted//\"/\\\"}
  quoted=${quoted//\`/\\\`}
  quoted=${quoted//\$/\\\$}
  quoted=${quoted//\\/\\\\}
  command_line="\"$quoted\""
fi
command_line=${command_line//%/%%}
while IFS= read -r line || [[ -n "$line" ]]; do
  case "$line" in
    Exec=*) printf 'Exec=%s\n' "$command_line" ;;
    TryExec=*) printf 'TryExec=%s\n' "$try" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < resources/mtl-workbench.desktop > "$SHARE/applications/mtl-workbench.desktop"
for size in 16 24 32 48 64 128 256; do
  install -D -m 644 "resources/mtl-workbench-$size.png" "$SHARE/icons/hicolor/${size}x${size}/apps/mtl-workbench.png"
done
install -D -m 644 resources/mtl-workbench.svg "$SHARE/icons/hicolor/scalable/apps/mtl-workbench.svg"
# <provides><binary> names a program on PATH: the bundle's is not, and is left out then.
binary=$(basename -- "$program")
if [[ "$(command -v -- "$binary" 2>/dev/null)" == "$program" ]]; then
  sed "s|<binary>workbench</binary>|<binary>$binary</binary>|" packaging/io.github.mtl_workbench.metainfo.xml
else
  grep -v -e '<provides>' -e '<binary>' -e '</provides>' packaging/io.github.mtl_workbench.metainfo.xml
fi > "$SHARE/metainfo/io.github.mtl_workbench.metainfo.xml"
chmod 644 "$SHARE/metainfo/io.github.mtl_workbench.metainfo.xml"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "installed under $SHARE (the entry runs $program)"
