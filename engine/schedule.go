package engine

// TransferSchedule is the reference get_num_transfer_tokens, the linear
// schedule: n masked tokens over steps steps, n/steps each and the first
// n%steps steps one more. The sampler and the trainer's sampler both use
// it, each with the masks it counts in the block.
func TransferSchedule(n, steps int) []int {
	k := make([]int, steps)
	for i := range k {
		k[i] = n / steps
		if i < n%steps {
			k[i]++
		}
	}
	return k
}
