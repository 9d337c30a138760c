# Sourced by the scripts that fetch from Debian sid (liburing-ref.sh,
# asio-sid.sh), which set dest (their cache directory), sid_types (the
# index kinds they need: "deb-src", or "deb deb-src") and fail(). Leaves
# apt-get's private options in "$@", with sid's index fetched: apt-get
# runs with sources, lists and cache all under "$dest/apt", so the
# system's apt sources are left alone.

command -v apt-get >/dev/null || fail "apt-get is missing"

apt="$dest/apt"
rm -rf "$apt"
mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial"
cat > "$apt/sources/sid.sources" <<EOT
Types: $sid_types
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
set -- -o Dir::Etc::SourceList=/dev/null \
	-o Dir::Etc::SourceParts="$apt/sources" \
	-o Dir::State::Lists="$apt/lists" \
	-o Dir::Cache="$apt/cache" \
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root

apt-get "$@" -qq --error-on=any update >/dev/null 2>&1 ||
	fail "apt-get update of Debian sid's index failed (no network?)"
