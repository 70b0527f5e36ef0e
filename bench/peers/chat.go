// SPDX-License-Identifier: ISC
// chat: the chat server of "The Go Programming Language" (section 8.10),
// as a peer for bench/run, written here to its description: a goroutine
// per client reading its lines, a writer goroutine per client draining
// that client's channel, and one broadcaster goroutine that owns the set
// of clients and is fed through the entering, leaving and messages
// channels.  As in the book, the broadcaster hands each message to every
// client's writer in turn and waits for each (the flaw of exercise 8.15).
// Only -port is added.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
)

// outbox is where the broadcaster leaves a client's lines.
type outbox chan<- string

var (
	entering = make(chan outbox)
	leaving  = make(chan outbox)
	messages = make(chan string)
)

func main() {
	port := flag.Int("port", 8001, "TCP port to listen on (127.0.0.1)")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	go broadcaster()
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go handleConn(conn)
	}
}

// broadcaster keeps the room: every message goes to every outbox.
func broadcaster() {
	room := make(map[outbox]bool)
	for {
		select {
		case line := <-messages:
			for box := range room {
				box <- line
			}
		case box := <-entering:
			room[box] = true
		case box := <-leaving:
			delete(room, box)
			close(box)
		}
	}
}

// handleConn is one client's life: announced, its lines relayed, gone.
func handleConn(conn net.Conn) {
	box := make(chan string)
	go clientWriter(conn, box)
	who := conn.RemoteAddr().String()
	box <- "You are " + who
	messages <- who + " has arrived"
	entering <- box
	lines := bufio.NewScanner(conn)
	for lines.Scan() {
		messages <- who + ": " + lines.Text()
	}
	leaving <- box
	messages <- who + " has left"
	conn.Close()
}

// clientWriter writes what the broadcaster leaves for one client.
func clientWriter(conn net.Conn, box <-chan string) {
	for line := range box {
		fmt.Fprintln(conn, line)
	}
}
