package queue

import (
	"errors"
	"sync"
)

// eachParallel runs f for every item, at most n at once, and returns the
// errors of all the calls that failed, joined: one failure does not stop
// the others.
func eachParallel[T any](items []T, n int, f func(T) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, n)
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
