# A throwaway CA with openssl, for tests and benches only (sourced by tls-test.sh and bench/tls/run.sh).
# make_ca DIR ORG: a P-256 CA (DIR/fleet-ca.pem, .key) and the state `openssl ca` keeps (DIR/ca/, DIR/ca.cnf).
# sign DIR NAME CN KIND [openssl ca options…]: DIR/NAME.pem and .key with that CN; KIND is
#   `server:SAN` (serverAuth, subjectAltName SAN, e.g. IP:127.0.0.1) or `client` (clientAuth).
# revoke DIR NAME, then crl DIR: DIR/fleet-ca.crl (nginx's ssl_crl).

make_ca() {
    local dir=$1 org=$2
    mkdir -p "$dir/ca/new" && touch "$dir/ca/index.txt" && echo 1000 > "$dir/ca/serial"
    cat > "$dir/ca.cnf" <<CNF
[ ca ]
default_ca = fleet
[ fleet ]
dir = $dir/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $dir/fleet-ca.pem
private_key = $dir/fleet-ca.key
default_md = sha256
default_days = 30
default_crl_days = 1
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
commonName = supplied
organizationName = optional
CNF
    echo "$org" > "$dir/ca/org"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/fleet-ca.key" -out "$dir/fleet-ca.pem" \
        -days 30 -subj "/O=$org/CN=$org fleet CA" 2>/dev/null
}

sign() {
    local dir=$1 name=$2 cn=$3 kind=$4; shift 4
    local ext=(-addext "extendedKeyUsage=clientAuth")
    [[ "$kind" == server:* ]] && ext=(-addext "subjectAltName=${kind#server:}" -addext "extendedKeyUsage=serverAuth")
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
        -subj "/O=$(cat "$dir/ca/org")/CN=$cn" "${ext[@]}" 2>/dev/null
    openssl ca -batch -config "$dir/ca.cnf" -in "$dir/$name.csr" -out "$dir/$name.pem" -notext "$@" 2>/dev/null
}

revoke() { openssl ca -batch -config "$1/ca.cnf" -revoke "$1/$2.pem" 2>/dev/null; }

crl() { openssl ca -batch -config "$1/ca.cnf" -gencrl -out "$1/fleet-ca.crl" 2>/dev/null; }
