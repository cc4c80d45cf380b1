package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
)

// machineCPU reads the CPU seconds every process of the machine has spent
// (the first line of /proc/stat: user, nice, system, irq and softirq ticks
// of 1/100 s; idle, iowait and the time stolen by the hypervisor left out).
func machineCPU() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system (idle iowait) irq softirq
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: field %d: %w", i, err)
		}
		ticks += v
	}
	return ticks / 100, nil
}

// cpuSeconds reads utime+stime of pid from /proc/<pid>/stat (clock ticks of
// 1/100 s, the Linux USER_HZ).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat: %w", err)
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat of %d: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("stat of %d: %d fields", pid, len(f))
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, nil
}

// peakRSS reads VmHWM of pid in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("status of %d: no VmHWM", pid)
}

// loadQuantiles scrapes the cumulative buckets of
// starsink_load_duration_seconds (all tables summed) and interpolates the
// p50 and p99 in seconds.
func loadQuantiles(metricsURL string) (p50, p99 float64, err error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, 0, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	buckets := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "starsink_load_duration_seconds_bucket{") {
			continue
		}
		i := strings.LastIndex(line, `le="`) // not the tail of table="
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < 0 {
			continue
		}
		leS := line[i+4:]
		leS = leS[:strings.IndexByte(leS, '"')]
		le := math.Inf(1)
		if leS != "+Inf" {
			le, _ = strconv.ParseFloat(leS, 64)
		}
		v, _ := strconv.ParseFloat(line[j+1:], 64)
		buckets[le] += v
	}
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 || buckets[les[len(les)-1]] == 0 {
		return 0, 0, fmt.Errorf("no load latency observed")
	}
	total := buckets[les[len(les)-1]]
	q := func(p float64) float64 {
		rank := p * total
		prevLe, prevC := 0.0, 0.0
		for _, le := range les {
			c := buckets[le]
			if c >= rank {
				if math.IsInf(le, 1) {
					return prevLe
				}
				if c == prevC {
					return le
				}
				return prevLe + (le-prevLe)*(rank-prevC)/(c-prevC)
			}
			prevLe, prevC = le, c
		}
		return prevLe
	}
	return q(0.5), q(0.99), nil
}
