#!/usr/bin/env bash
# Desktop integration on Linux: the .desktop entry, the icons (hicolor theme, every size) and
# the AppStream metainfo, for the current user (default) or under PREFIX (e.g. /usr/local).
#   packaging/install-desktop.sh            -> ~/.local/share
#   PREFIX=/usr/local sudo -E packaging/install-desktop.sh
# The entry runs `workbench` (a pip install) or, when EXEC is given, the bundle:
#   EXEC="$PWD/dist/mtl-workbench/mtl-workbench" packaging/install-desktop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARE=${PREFIX:+$PREFIX/share}
SHARE=${SHARE:-${XDG_DATA_HOME:-$HOME/.local/share}}
install -d "$SHARE/applications" "$SHARE/metainfo"
program=${EXEC:-workbench}
if [[ "$program" == *[[:cntrl:]]* ]]; then
  echo "install-desktop.sh: EXEC holds a control character (a newline?): $(printf %q "$program")" >&2
  exit 2
fi
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
install -m 644 packaging/io.github.mtl_workbench.metainfo.xml "$SHARE/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "installed under $SHARE"
