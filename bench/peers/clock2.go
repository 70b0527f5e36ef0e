// SPDX-License-Identifier: ISC
// clock2: the concurrent clock server of "The Go Programming Language"
// (section 8.2), as a peer for bench/run: one goroutine per connection,
// each writing the time and then sleeping a second.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"time"
)

func main() {
	port := flag.Int("port", 8000, "TCP port to listen on (127.0.0.1)")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go handleConn(conn)
	}
}

// handleConn writes the time once a second until the client goes away.
func handleConn(c net.Conn) {
	defer c.Close()
	for {
		if _, err := io.WriteString(c, time.Now().Format("15:04:05\n")); err != nil {
			return
		}
		time.Sleep(1 * time.Second)
	}
}
