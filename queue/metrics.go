package queue

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// DepthCollector exports each queue's task counts by state on every scrape.
type DepthCollector struct {
	insp *asynq.Inspector
	desc *prometheus.Desc
}

// NewDepthCollector reads queue depths through the inspector.
func NewDepthCollector(insp *asynq.Inspector) *DepthCollector {
	return &DepthCollector{insp: insp, desc: prometheus.NewDesc("gateway_queue_tasks",
		"Tasks in each Asynq queue by state.", []string{"queue", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *DepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *DepthCollector) Collect(ch chan<- prometheus.Metric) {
	for q := range Weights {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			continue // a queue that never had a task does not exist yet
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}
