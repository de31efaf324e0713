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
sed "s|^Exec=.*|Exec=${EXEC:-workbench}|; s|^TryExec=.*|TryExec=${EXEC:-workbench}|" \
  resources/mtl-workbench.desktop > "$SHARE/applications/mtl-workbench.desktop"
for size in 16 24 32 48 64 128 256; do
  install -D -m 644 "resources/mtl-workbench-$size.png" "$SHARE/icons/hicolor/${size}x${size}/apps/mtl-workbench.png"
done
install -D -m 644 resources/mtl-workbench.svg "$SHARE/icons/hicolor/scalable/apps/mtl-workbench.svg"
install -m 644 packaging/io.github.mtl_workbench.metainfo.xml "$SHARE/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "installed under $SHARE"
