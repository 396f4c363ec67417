// SPDX-License-Identifier: MIT
// dns_goclient.go -- asks one server through Go's own resolver (the pure-Go
// one, as in a CGO_ENABLED=0 binary), which rejects a message any part of
// which it cannot decode (a compressed SRV target, for one).
//
//	dns_goclient ADDR:PORT host NAME        addresses, one per line, sorted
//	dns_goclient ADDR:PORT srv SVC PROTO NAME   "TARGET PORT PRIO WEIGHT" lines
//	dns_goclient ADDR:PORT addr IP          names, one per line
//
// Exits 1 with the resolver's error on stderr.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: dns_goclient ADDR:PORT host|srv|addr ARGS...")
		os.Exit(2)
	}
	server := os.Args[1]
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	var err error
	switch os.Args[2] {
	case "host":
		out, err = r.LookupHost(ctx, os.Args[3])
	case "srv":
		if len(os.Args) != 6 {
			fmt.Fprintln(os.Stderr, "srv wants SVC PROTO NAME")
			os.Exit(2)
		}
		var srvs []*net.SRV
		_, srvs, err = r.LookupSRV(ctx, os.Args[3], os.Args[4], os.Args[5])
		for _, s := range srvs {
			out = append(out, fmt.Sprintf("%s %d %d %d", s.Target,
				s.Port, s.Priority, s.Weight))
		}
	case "addr":
		out, err = r.LookupAddr(ctx, os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "unknown lookup", os.Args[2])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sort.Strings(out)
	for _, s := range out {
		fmt.Println(s)
	}
}
