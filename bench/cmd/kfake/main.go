// Command kfake serves an in-memory Kafka cluster (franz-go's kfake) on fixed
// loopback ports, so that the benchmark's producer, consumers and starsink
// run as separate processes against one broker.
//
//	go run ./bench/cmd/kfake --ports 19092
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	ports := flag.String("ports", "19092", "comma-separated loopback ports, one broker each")
	flag.Parse()
	var ps []int
	for _, p := range strings.Split(*ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintln(os.Stderr, "kfake: bad port:", p)
			os.Exit(2)
		}
		ps = append(ps, n)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(len(ps)), kfake.Ports(ps...), kfake.AllowAutoTopicCreation())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println("kfake listening on", strings.Join(c.ListenAddrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	c.Close()
}
