// goquictls drives Go's crypto/tls QUIC API (tls.QUICConn, as quic-go uses it) over stdin/stdout
// so the TypeScript handshake can be tested against it without packets.
//
// In:  "L <level> <hex>" (CRYPTO data at a level: 0 initial, 2 handshake, 3 application).
// Out: "W <level> <hex>", "R|S <level> <suite> <hex>" (read/write secret), "T <hex>" (peer
// transport parameters), "D <alpn> <sni>" (handshake done), "E <alert> <message>".
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	role := flag.String("role", "client", "client or server")
	certFile := flag.String("cert", "", "PEM certificate")
	keyFile := flag.String("key", "", "PEM key")
	caFile := flag.String("ca", "", "PEM CA")
	sni := flag.String("sni", "", "client SNI")
	alpn := flag.String("alpn", "netceptor", "ALPN")
	verify := flag.Bool("verify", false, "client: verify the server; server: require a client certificate")
	tp := flag.String("tp", "", "our transport parameters (hex)")
	curves := flag.String("curves", "", "comma-separated curve IDs (default: Go's)")
	flag.Parse()

	out := bufio.NewWriter(os.Stdout)
	emit := func(format string, a ...any) {
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
	}
	fail := func(err error) {
		var alert tls.AlertError
		code := 0
		if errors.As(err, &alert) {
			code = int(alert)
		}
		emit("E %d %s", code, strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(0)
	}

	cfg := &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{*alpn}, ServerName: *sni}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if *caFile != "" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail(err)
		}
		pool.AppendCertsFromPEM(pem)
		cfg.RootCAs = pool
		cfg.ClientCAs = pool
	}
	if *curves != "" {
		for _, c := range strings.Split(*curves, ",") {
			n, err := strconv.Atoi(c)
			if err != nil {
				fail(err)
			}
			cfg.CurvePreferences = append(cfg.CurvePreferences, tls.CurveID(n))
		}
	}
	var conn *tls.QUICConn
	if *role == "client" {
		cfg.InsecureSkipVerify = !*verify
		conn = tls.QUICClient(&tls.QUICConfig{TLSConfig: cfg})
	} else {
		if *verify {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		conn = tls.QUICServer(&tls.QUICConfig{TLSConfig: cfg})
	}
	params, _ := hex.DecodeString(*tp)
	conn.SetTransportParameters(params)

	drain := func() {
		for {
			ev := conn.NextEvent()
			switch ev.Kind {
			case tls.QUICNoEvent:
				return
			case tls.QUICWriteData:
				emit("W %d %x", ev.Level, ev.Data)
			case tls.QUICSetReadSecret:
				emit("R %d %d %x", ev.Level, ev.Suite, ev.Data)
			case tls.QUICSetWriteSecret:
				emit("S %d %d %x", ev.Level, ev.Suite, ev.Data)
			case tls.QUICTransportParameters:
				emit("T %x", ev.Data)
			case tls.QUICHandshakeDone:
				st := conn.ConnectionState()
				emit("D %s %s", st.NegotiatedProtocol, st.ServerName)
			case tls.QUICErrorEvent:
				fail(ev.Err)
			}
		}
	}
	if err := conn.Start(context.Background()); err != nil {
		fail(err)
	}
	drain()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 || f[0] != "L" {
			continue
		}
		level, _ := strconv.Atoi(f[1])
		data, _ := hex.DecodeString(f[2])
		if err := conn.HandleData(tls.QUICEncryptionLevel(level), data); err != nil {
			fail(err)
		}
		drain()
	}
}
