/**
 * TEST-ONLY TLS credential (never use elsewhere): a self-signed P-256 certificate for
 * DNS:localhost and IP:127.0.0.1, valid 2000-01-01 … 2100-01-01 (made with `openssl ca
 * -selfsign -startdate …`), so TLS variants of the suite run without generating keys. Kept out of
 * `receptor-mesh/testing` so the package ships no private key.
 * Use `{key, cert}` on listeners and `{ca: cert}` on dialers.
 */
export const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgW0D5JyOHZTOUXJU9
LiWhN+6c9MHdsazm/BuNkjn3H/ihRANCAASw8yMt/L0aaKjyG0aJ8NbYistITODE
168QF06HIveeCPGtqELUNvw20m6N0P7XIjH3XDfZyCruFjfnobPrErnF
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIBATAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBByZWNlcHRv
ci10cy10ZXN0MCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAbMRkw
FwYDVQQDDBByZWNlcHRvci10cy10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD
QgAEsPMjLfy9Gmio8htGifDW2IrLSEzgxNevEBdOhyL3ngjxrahC1Db8NtJujdD+
1yIx91w32cgq7hY356Gz6xK5xaN6MHgwGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/
AAABMA8GA1UdEwEB/wQFMAMBAf8wCwYDVR0PBAQDAgKEMB0GA1UdJQQWMBQGCCsG
AQUFBwMBBggrBgEFBQcDAjAdBgNVHQ4EFgQUN36Lpm+rf04y5rVpad9CUArkPA0w
CgYIKoZIzj0EAwIDSAAwRQIhAJWrVWJj52rAoswwfGi4gSky2ymg3avywHHtR1LO
GNKAAiAdUHnv4krF/lqVVYSkpeeKqZWHlXAkmtvoDXzp3OEpgg==
-----END CERTIFICATE-----
`,
};
