# nginx-names.sh - the Host check (DESIGN.md "Security"), shared by
# render-nginx and render-front. Sourced, not run.
#
# host_check LISTEN NAMES HEADERS_LINE: sets server_names (nginx's
# server_name list) and host_check_server (a default server answering
# any other Host with the 421 / 4210 envelope; empty when NAMES is "*").
# NAMES unset/empty: localhost, the loopback addresses and LISTEN's own
# address; then listening beyond loopback stops here, naming the variable.

# The host part of an nginx listen value: "" for a bare port (all
# addresses), "unix" for a unix socket.
listen_host() {
    case $1 in
        unix:*) echo unix;;
        \[*\]:*) local h=${1#[}; echo "${h%%]*}";;
        *:*) echo "${1%:*}";;
        *[!0-9]*) echo "$1";;
        *) echo "";;
    esac
}

is_loopback() {
    case $1 in
        unix|localhost|::1|127.*) return 0;;
        *) return 1;;
    esac
}

host_check() {
    local listen=$1 names=$2 headers=$3 host
    host=$(listen_host "$listen")
    if [ "$names" = "*" ]; then
        server_names=_
        host_check_server='# BMC_SERVER_NAMES=*: the Host check is off (any Host is answered).'
        return 0
    fi
    if [ -z "$names" ]; then
        if ! is_loopback "$host"; then
            echo "BMC_SERVER_NAMES must be set to listen on ${listen} (beyond loopback): the names clients use, or * to turn the Host check off" >&2
            return 2
        fi
        names="localhost 127.0.0.1 [::1]"
        case $host in
            unix|localhost|127.0.0.1|::1) ;;
            *:*) names+=" [$host]";;
            *) names+=" $host";;
        esac
    fi
    names=${names//,/ }
    local n re='^[][A-Za-z0-9.*_:-]{1,253}$'
    for n in $names; do
        if [[ ! $n =~ $re ]]; then
            echo "invalid BMC_SERVER_NAMES entry: $n (host names or addresses, comma-separated)" >&2
            return 2
        fi
    done
    server_names=$(echo $names)
    host_check_server="server {
    listen $listen default_server;
    server_name \"\";
    default_type application/json;
    client_max_body_size 0;
    $headers
    # nginx's own errors (a request it cannot read): JSON, as everywhere
    @ERROR_PAGES@
    @ERROR_LOCATIONS@
    location / {
        return 421 '{\"success\":false,\"message\":\"Misdirected request\",\"method\":null,\"error_code\":4210,\"details\":\"Host is not one of the names in BMC_SERVER_NAMES\"}\\n';
    }
}"
}
