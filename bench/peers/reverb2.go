// SPDX-License-Identifier: ISC
// reverb2: the echo server with reverb of "The Go Programming Language"
// (section 8.3), as a peer for bench/run: one goroutine per connection and
// one more per line, each echo paced with time.Sleep.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"strings"
	"time"
)

var delay = flag.Duration("delay", 1*time.Second, "time between echoes")

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

// echo shouts, then repeats the line softer and softer.
func echo(c net.Conn, shout string, delay time.Duration) {
	fmt.Fprintln(c, "\t", strings.ToUpper(shout))
	time.Sleep(delay)
	fmt.Fprintln(c, "\t", shout)
	time.Sleep(delay)
	fmt.Fprintln(c, "\t", strings.ToLower(shout))
}

// handleConn starts one echo per line read; it closes once input ends.
func handleConn(c net.Conn) {
	input := bufio.NewScanner(c)
	for input.Scan() {
		go echo(c, input.Text(), *delay)
	}
	c.Close()
}
