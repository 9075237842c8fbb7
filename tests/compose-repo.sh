#!/bin/sh
# compose-repo.sh DIR: a flat package repository for the compose tests:
# small .debs built with dpkg-deb (tests/compose-mkdeb.sh) and indexed with
# dpkg-scanpackages, one or more per relation gen must handle.
#
#   gen-test-kernel  a stand-in kernel at usr/lib/modules/6.1.0-compose/vmlinuz
#   app 2.1-1        Pre-Depends prelib; Depends libfoo (>= 2), the virtual
#                    mail-transport-agent, shell-a | shell-b; a postinst
#   app 1.0-1        Depends libfoo (>= 1) only
#   libfoo 1.5, 2.3  versions
#   postfix-lite     Provides mail-transport-agent; a postinst
#   shell-a, shell-b alternatives; files under /bin (merged into /usr/bin)
#   revalt           Depends shell-b | shell-a (the first is preferred)
#   picky            Depends shell-a | shell-b, Conflicts shell-a
#   conflicting      Conflicts app;  breaker  Breaks libfoo (<< 3)
#   needs-missing    Depends nosuch-lib (>= 1)
#   base-lite        Essential: yes, Priority: required (never pulled in)
#   wrongarch        Architecture: arm64
#   tools            setuid and setgid files, links (relative, absolute,
#                    moved by the /usr merge), a hard link, a sticky folder
#   twin-a, twin-b   the same file with the same content (allowed)
#   clash            usr/bin/app with other content than app's (refused)
set -eu
dir=$1
mk="$(dirname "$0")/compose-mkdeb.sh"
mkdir -p "$dir"
"$mk" "$dir" gen-test-kernel 6.1-1 -p usr/lib/modules/6.1.0-compose/vmlinuz='not a real kernel'
"$mk" "$dir" app 2.1-1 -f 'Pre-Depends: prelib' \
  -f 'Depends: libfoo (>= 2), mail-transport-agent, shell-a | shell-b' \
  -x usr/bin/app='#!/bin/sh' -p etc/app.conf='port=80' -s postinst
"$mk" "$dir" app 1.0-1 -f 'Depends: libfoo (>= 1)' -x usr/bin/app='#!/bin/sh'
"$mk" "$dir" libfoo 1.5 -p usr/lib/libfoo.so.1
"$mk" "$dir" libfoo 2.3 -p usr/lib/libfoo.so.2
"$mk" "$dir" prelib 1.0 -p usr/lib/prelib
"$mk" "$dir" postfix-lite 1.0 -f 'Provides: mail-transport-agent' -x usr/sbin/sendmail \
  -s postinst -s preinst
"$mk" "$dir" shell-a 1.0 -x bin/sh-a
"$mk" "$dir" shell-b 1.0 -x bin/sh-b
"$mk" "$dir" revalt 1.0 -f 'Depends: shell-b | shell-a'
"$mk" "$dir" picky 1.0 -f 'Depends: shell-a | shell-b' -f 'Conflicts: shell-a'
"$mk" "$dir" conflicting 1.0 -f 'Conflicts: app'
"$mk" "$dir" breaker 1.0 -f 'Breaks: libfoo (<< 3)'
"$mk" "$dir" needs-missing 1.0 -f 'Depends: nosuch-lib (>= 1)'
"$mk" "$dir" base-lite 1.0 -f 'Essential: yes' -f 'Priority: required' \
  -p usr/lib/os-release='VERSION_ID="lite"'
"$mk" "$dir" wrongarch 1.0 -a arm64 -p usr/share/wrongarch
"$mk" "$dir" tools 1.0 -x usr/bin/suid-tool -m usr/bin/suid-tool=4755 \
  -x usr/bin/sgid-tool -m usr/bin/sgid-tool=2755 \
  -p usr/share/tools/data -h usr/share/tools/data-link=usr/share/tools/data \
  -l usr/bin/tool-rel=suid-tool -l usr/bin/tool-abs=/usr/bin/suid-tool \
  -x lib/tools/helper -l lib/tools/to-share=../../usr/share/tools/data \
  -d var/spool/tools -m var/spool/tools=1777
"$mk" "$dir" twin-a 1.0 -p usr/share/twins/common='shared by the twins'
"$mk" "$dir" twin-b 1.0 -p usr/share/twins/common='shared by the twins'
"$mk" "$dir" clash 1.0 -x usr/bin/app='#!/bin/sh clash'
cd "$dir"
dpkg-scanpackages -m . /dev/null > Packages 2> /dev/null
