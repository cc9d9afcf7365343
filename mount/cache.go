package mount

import (
	"container/list"
	"sync"
)

// chunkCache keeps decompressed chunks by chunk number, least recently
// used first out, holding at most max bytes of chunk data. It is safe for
// concurrent use; mu guards everything below it.
type chunkCache struct {
	max   int64
	mu    sync.Mutex
	used  int64
	order *list.List // of *cached, most recently used at the front
	byNum map[int]*list.Element
}

type cached struct {
	num  int
	data []byte
}

func newChunkCache(max int64) *chunkCache {
	return &chunkCache{max: max, order: list.New(), byNum: map[int]*list.Element{}}
}

// get returns chunk num's data, or nil.
func (c *chunkCache) get(num int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byNum[num]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).data
}

// put adds chunk num's data, evicting the least recently used chunks to
// stay within max; a chunk larger than max is not kept. The caller must
// not change data afterwards.
func (c *chunkCache) put(num int, data []byte) {
	size := int64(len(data))
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byNum[num]; ok {
		return // another reader fetched it meanwhile
	}
	for c.used+size > c.max {
		last := c.order.Back()
		old := c.order.Remove(last).(*cached)
		delete(c.byNum, old.num)
		c.used -= int64(len(old.data))
	}
	c.byNum[num] = c.order.PushFront(&cached{num: num, data: data})
	c.used += size
}

// bytes returns how much chunk data the cache holds.
func (c *chunkCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
