//! The whiteboard of a room: the ordered log of drawing operations relayed on
//! the `whiteboard` data channel, kept so a late joiner receives the current
//! board. Operations are opaque to the SFU (the SDK defines them); a `clear`
//! marker lets the log start again. The log is bounded in bytes and in
//! operations; past either bound an operation is refused with an error the
//! sender is told, and the board stays as it was.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WhiteboardError {
    #[error("operation of {size} bytes exceeds the {limit}-byte limit for one operation")]
    OperationTooLarge { size: usize, limit: usize },
    #[error("the board is full ({limit} bytes); clear it to keep drawing")]
    BoardFull { limit: usize },
    #[error("the board is full ({limit} operations); clear it to keep drawing")]
    TooManyOperations { limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_operation_bytes: usize,
    pub max_board_bytes: usize,
    pub max_operations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operation_bytes: 16 * 1024,
            max_board_bytes: 4 * 1024 * 1024,
            max_operations: 100_000,
        }
    }
}

#[derive(Debug)]
pub struct Whiteboard {
    limits: Limits,
    ops: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Sequence number of the next operation; lets a client spot a gap.
    next_seq: u64,
}

impl Whiteboard {
    pub fn new(limits: Limits) -> Self {
        Whiteboard {
            limits,
            ops: VecDeque::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// Appends a drawing operation; returns its sequence number, to relay with it.
    pub fn draw(&mut self, op: Vec<u8>) -> Result<u64, WhiteboardError> {
        let l = self.limits;
        if op.len() > l.max_operation_bytes {
            return Err(WhiteboardError::OperationTooLarge {
                size: op.len(),
                limit: l.max_operation_bytes,
            });
        }
        if self.bytes + op.len() > l.max_board_bytes {
            return Err(WhiteboardError::BoardFull {
                limit: l.max_board_bytes,
            });
        }
        if self.ops.len() >= l.max_operations {
            return Err(WhiteboardError::TooManyOperations {
                limit: l.max_operations,
            });
        }
        self.bytes += op.len();
        self.ops.push_back(op);
        self.next_seq += 1;
        Ok(self.next_seq - 1)
    }

    /// Wipes the board; later joiners start from empty.
    pub fn clear(&mut self) -> u64 {
        self.ops.clear();
        self.bytes = 0;
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// What a joiner receives: the operations in order, and the sequence
    /// number the next live operation will have.
    pub fn snapshot(&self) -> (Vec<Vec<u8>>, u64) {
        (self.ops.iter().cloned().collect(), self.next_seq)
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Whiteboard {
        Whiteboard::new(Limits {
            max_operation_bytes: 10,
            max_board_bytes: 25,
            max_operations: 4,
        })
    }

    #[test]
    fn a_late_joiner_gets_the_operations_in_order() {
        let mut b = Whiteboard::new(Limits::default());
        assert_eq!(b.draw(b"line 1".to_vec()), Ok(0));
        assert_eq!(b.draw(b"line 2".to_vec()), Ok(1));
        let (ops, next) = b.snapshot();
        assert_eq!(ops, vec![b"line 1".to_vec(), b"line 2".to_vec()]);
        assert_eq!(next, 2);
        b.clear();
        assert_eq!(b.snapshot(), (vec![], 3));
        assert_eq!(b.bytes(), 0);
    }

    #[test]
    fn limits_refuse_with_a_clear_error_and_change_nothing() {
        let mut b = small();
        assert_eq!(
            b.draw(vec![0; 11]),
            Err(WhiteboardError::OperationTooLarge {
                size: 11,
                limit: 10
            })
        );
        b.draw(vec![1; 10]).unwrap();
        b.draw(vec![2; 10]).unwrap();
        assert_eq!(
            b.draw(vec![3; 6]),
            Err(WhiteboardError::BoardFull { limit: 25 })
        );
        b.draw(vec![3; 2]).unwrap();
        b.draw(vec![4; 1]).unwrap();
        assert_eq!(
            b.draw(vec![5; 1]),
            Err(WhiteboardError::TooManyOperations { limit: 4 })
        );
        assert_eq!(b.snapshot().0.len(), 4);
        assert_eq!(b.bytes(), 23);
        assert!(WhiteboardError::BoardFull { limit: 25 }
            .to_string()
            .contains("clear it"));
        b.clear();
        assert!(b.draw(vec![6; 10]).is_ok(), "clearing makes room");
    }
}
