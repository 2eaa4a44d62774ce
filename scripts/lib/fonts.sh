#!/usr/bin/env bash
# Rich-message images are drawn with the Noto fonts (Latin, Thai, CJK) that fontconfig finds by family name
# (RICHMESSAGES_FONT_* in README.md). They come from Debian's packages, installed only when a family is missing;
# docker/Dockerfile installs the same packages.
set -euo pipefail

PACKAGES=(fontconfig fonts-noto-core fonts-noto-cjk)
# The default families of linebot_project/settings/base.py and the package that brings each.
FAMILIES=("Noto Sans" "Noto Sans Thai" "Noto Sans CJK JP")

fonts_present() {
  command -v fc-list >/dev/null || return 1
  local family
  for family in "${FAMILIES[@]}"; do
    # -q: no output, status 1 when nothing matches; ":style=Bold" is what the settings ask for.
    fc-list -q "$family:style=Bold" || return 1
  done
}

if fonts_present; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "==> installing Debian's ${PACKAGES[*]} for rich-message images"
  apt-get update -qq >/dev/null \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null \
    || echo "WARNING: apt-get could not install ${PACKAGES[*]}" >&2
fi
if ! fonts_present; then
  families=$(printf '"%s", ' "${FAMILIES[@]}")
  problem="the fonts of rich-message images (${families%, } in bold) are missing;"
  problem+=" install Debian's ${PACKAGES[*]} (as root: apt-get install ${PACKAGES[*]})."
  if [ "${CI:-}" = "true" ]; then
    echo "ERROR: $problem" >&2
    exit 1
  fi
  echo "WARNING: $problem Rich-message images cannot be composed until then; everything else runs." >&2
fi
exit 0
