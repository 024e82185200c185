//! A uniform spatial grid, rebuilt every step, for finding overlapping circles.
//!
//! Bodies are bucketed by a counting sort into cells as wide as one body, so overlapping
//! pairs are only ever in the same or adjacent cells and a step costs O(players + cells)
//! instead of O(players²). The buffers are kept between steps: no allocation per tick
//! once the room has reached its size.

use glam::Vec2;

/// Cell buckets over a rectangle `[0, size]`.
#[derive(Debug)]
pub struct Grid {
    cell: f32,
    cols: usize,
    rows: usize,
    /// `starts[c]..starts[c + 1]` is cell `c`'s range in `order`.
    starts: Vec<u32>,
    /// Body indices sorted by cell.
    order: Vec<u32>,
    /// Each body's cell, from the last rebuild.
    cell_of: Vec<u32>,
}

impl Grid {
    /// A grid over `size` with square cells of side `cell` (> 0).
    pub fn new(size: Vec2, cell: f32) -> Self {
        let cols = ((size.x / cell).ceil() as usize).max(1);
        let rows = ((size.y / cell).ceil() as usize).max(1);
        Self {
            cell,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            order: Vec::new(),
            cell_of: Vec::new(),
        }
    }

    fn coords(&self, p: Vec2) -> (usize, usize) {
        // `as` saturates NaN and negatives to 0, so even a corrupt position lands in a cell.
        let cx = ((p.x / self.cell) as usize).min(self.cols - 1);
        let cy = ((p.y / self.cell) as usize).min(self.rows - 1);
        (cx, cy)
    }

    /// Buckets `positions` (indices into it are what pairs refer to).
    pub fn rebuild(&mut self, positions: &[Vec2]) {
        self.starts.fill(0);
        self.cell_of.clear();
        for &p in positions {
            let (cx, cy) = self.coords(p);
            let c = cy * self.cols + cx;
            self.cell_of.push(c as u32);
            self.starts[c + 1] += 1;
        }
        for c in 1..self.starts.len() {
            self.starts[c] += self.starts[c - 1];
        }
        self.order.clear();
        self.order.resize(positions.len(), 0);
        // Fill each cell from its start; `fill` tracks the next free slot per cell.
        let mut fill = self.starts.clone();
        for (i, &c) in self.cell_of.iter().enumerate() {
            let slot = &mut fill[c as usize];
            self.order[*slot as usize] = i as u32;
            *slot += 1;
        }
    }

    /// Calls `f(i, j)` once for every pair of bodies (i < j) in the same or adjacent cells.
    pub fn for_each_near_pair(&self, mut f: impl FnMut(usize, usize)) {
        for (i, &c) in self.cell_of.iter().enumerate() {
            let c = c as usize;
            let (cx, cy) = (c % self.cols, c / self.cols);
            for ny in cy.saturating_sub(1)..=(cy + 1).min(self.rows - 1) {
                for nx in cx.saturating_sub(1)..=(cx + 1).min(self.cols - 1) {
                    let n = ny * self.cols + nx;
                    let range = self.starts[n] as usize..self.starts[n + 1] as usize;
                    for &j in &self.order[range] {
                        if (j as usize) > i {
                            f(i, j as usize);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(grid: &Grid) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        grid.for_each_near_pair(|i, j| out.push((i, j)));
        out.sort();
        out
    }

    #[test]
    fn finds_neighbours_across_cell_edges_only_once() {
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        let pos = [
            Vec2::new(9.9, 9.9),
            Vec2::new(10.1, 10.1),
            Vec2::new(55.0, 55.0),
            Vec2::new(5.0, 5.0),
        ];
        grid.rebuild(&pos);
        assert_eq!(pairs(&grid), vec![(0, 1), (0, 3), (1, 3)]);
    }

    #[test]
    fn out_of_range_positions_are_clamped_into_the_grid() {
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        grid.rebuild(&[
            Vec2::new(-5.0, 1e9),
            Vec2::new(f32::NAN, 0.0),
            Vec2::new(0.0, 99.0),
        ]);
        assert_eq!(pairs(&grid), vec![(0, 2)]);
    }
}
