#!/bin/bash
# The image's entry point, under tini: it runs the command as the right user, then gets out of the way (exec).
# It follows the Jupyter Docker Stacks' start.sh (images/docker-stacks-foundation/start.sh), with setpriv from
# util-linux instead of sudo, and without hooks, sudo rights or renaming users.
#
# Started as root (`docker run --user root`), it runs the command as NB_UID:NB_GID, the jovyan user given that
# UID and group first (`-e NB_UID="$(id -u)" -e NB_GID="$(id -g)"`: files in a mounted ~/work stay yours):
#   NB_UID=0           keeps root (HOME stays /home/jovyan)
#   NB_UID unchanged   (the image's 1000) runs as jovyan; but when the working directory is a mount that belongs to
#                      another UID and jovyan cannot write it, as that owner (root too), so that runs/ can be made
#   CHOWN_HOME=yes     gives /home/jovyan to NB_UID:NB_GID first (CHOWN_HOME_OPTS=-R for everything in it)
#   CHOWN_EXTRA=a,b    the same for other paths (CHOWN_EXTRA_OPTS)
# Started as any other UID (the image's default user 1000, or `--user UID:GID`), it runs the command as is: HOME
# (/home/jovyan) and ~/work are writable by any UID, and a UID without a passwd entry gets one when /etc/passwd is
# writable (its group, root, writes it: `--user UID:0`), else USER and LOGNAME name it jovyan.
# It writes nothing unless it changes something, so that a command's stderr stays the command's own.
set -euo pipefail

log() { printf 'start.sh: %s\n' "$*" >&2; }

is_yes() { [[ "${1:-}" == 1 || "${1:-}" == yes ]]; }

# The jovyan user of the image (its name, its home): NB_USER names it, as in the Docker Stacks.
NB_USER="${NB_USER:-jovyan}"
HOME_DIR="/home/${NB_USER}"

if [[ $# -eq 0 ]]; then
    set -- bash
fi

# Hand the command to the user uid:gid: an exec, so that tini's child is the command itself and gets its signals.
run_as() {
    local uid=$1 gid=$2
    shift 2
    export HOME="${HOME:-${HOME_DIR}}"
    if [[ "${uid}" == 0 ]]; then
        export USER=root LOGNAME=root
        exec "$@"
    fi
    export USER="${NB_USER}" LOGNAME="${NB_USER}"
    # The users group (100) as well: what the image gives jovyan's group stays reachable under a new GID.
    exec setpriv --reuid="${uid}" --regid="${gid}" --groups=100 --inh-caps=-all -- "$@"
}

# The owner of the working directory when it is in the home folder (~/work, a mount) and the user (uid:gid) cannot
# write it, else nothing. Elsewhere (`-w /`) the user stays who was asked for.
foreign_owner() {
    local uid=$1 gid=$2 owner
    [[ "${PWD}/" == "${HOME_DIR}/"* ]] || return 0
    owner=$(stat -c '%u:%g' .)
    [[ "${owner%%:*}" == "${uid}" ]] && return 0
    # Root can always write; a folder writable by the user's group or by anyone needs no change of user.
    setpriv --reuid="${uid}" --regid="${gid}" --groups=100 -- test -w . && return 0
    echo "${owner}"
}

if [[ "$(id -u)" == 0 ]]; then
    image_uid=$(id -u "${NB_USER}")
    uid="${NB_UID:-${image_uid}}"
    gid="${NB_GID:-$(id -g "${NB_USER}")}"
    if [[ "${uid}" == "${image_uid}" && "${gid}" == "$(id -g "${NB_USER}")" ]]; then
        owner=$(foreign_owner "${uid}" "${gid}")
        if [[ -n "${owner}" ]]; then
            log "${PWD} belongs to ${owner}, which ${NB_USER} (${uid}) cannot write: running as ${owner}" \
                "(-e NB_UID=... -e NB_GID=... to choose)"
            uid="${owner%%:*}" gid="${owner##*:}"
        fi
    fi
    if [[ "${uid}" != 0 && ( "${uid}" != "$(id -u "${NB_USER}")" || "${gid}" != "$(id -g "${NB_USER}")" ) ]]; then
        # Recreate jovyan with that UID and group. userdel and useradd, never `usermod -u`: usermod would chown
        # everything in the home folder, a mounted project included.
        log "running as ${NB_USER} with UID ${uid}, GID ${gid}"
        userdel "${NB_USER}"
        getent group "${gid}" > /dev/null || groupadd --gid "${gid}" "${NB_USER}"
        useradd --no-log-init --no-create-home --home-dir "${HOME_DIR}" --shell /bin/bash --non-unique \
            --uid "${uid}" --gid "${gid}" --groups 100 "${NB_USER}"
    fi
    if is_yes "${CHOWN_HOME:-}"; then
        log "giving ${HOME_DIR} to ${uid}:${gid}"
        # shellcheck disable=SC2086 # the options are words
        chown ${CHOWN_HOME_OPTS:-} "${uid}:${gid}" "${HOME_DIR}"
    fi
    if [[ -n "${CHOWN_EXTRA:-}" ]]; then
        for path in ${CHOWN_EXTRA//,/ }; do
            log "giving ${path} to ${uid}:${gid}"
            # shellcheck disable=SC2086
            chown ${CHOWN_EXTRA_OPTS:-} "${uid}:${gid}" "${path}"
        done
    fi
    export NB_UID="${uid}" NB_GID="${gid}"
    run_as "${uid}" "${gid}" "$@"
fi

# Not root: a UID without a name (`docker run --user 4321:4321`) gets one, so that whoami, the shell's prompt
# and Python's getpass work.
if ! whoami &> /dev/null; then
    if [[ -w /etc/passwd ]]; then
        # Not sed --in-place: it writes a temporary file beside /etc/passwd, in /etc, which is not writable.
        passwd=$(sed -e "s/^${NB_USER}:/nayvoj:/" /etc/passwd)
        printf '%s\n%s:x:%s:%s::%s:/bin/bash\n' "${passwd}" "${NB_USER}" "$(id -u)" "$(id -g)" "${HOME_DIR}" \
            > /etc/passwd
    fi
    export USER="${NB_USER}" LOGNAME="${NB_USER}"
fi
exec "$@"
