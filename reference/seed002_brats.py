"""Seed 002's BraTS preprocessing, the one copy that the reference scripts import
(bench/compare/brats_zscore.py, tests/fixtures/make_brats_reference.py).

`standardize` is the seed's function verbatim (indentation repaired). The seed reads each NIfTI with
`skimage.io.imread(path, plugin='simpleitk')`, an array `[z][y][x]` in the file's storage order;
SimpleITK is not in Debian, so `read_sitk_order` gives the same array through nibabel (raw stored
values, scl_slope 1 / scl_inter 0 on BraTS). `stack_case` is the seed's slice-dropping loop body.
"""
import numpy as np
import nibabel as nib


def read_sitk_order(path):
    """The array skimage.io.imread(path, plugin='simpleitk') returns: storage order, [z][y][x]."""
    img = nib.load(path)
    return np.asanyarray(img.dataobj).transpose(2, 1, 0)


def stack_case(paths):
    """The seed's loop body: drop slices 0-4 and 140-154, stack flair, t1, t1ce, t2 as float."""
    image_vol_w_seq = {}
    for seq, input_path in paths.items():
        image_volume = read_sitk_order(input_path)
        slices_to_keep = np.array([_slice for i, _slice in enumerate(image_volume)
                                   if i not in (list(range(5)) + list(range(140, 155)))])
        image_vol_w_seq[seq] = slices_to_keep
    final_image = np.stack((image_vol_w_seq['flair'],
                            image_vol_w_seq['t1'],
                            image_vol_w_seq['t1ce'],
                            image_vol_w_seq['t2'])).astype('float')
    return final_image


def standardize(image):
    """
    Centers the image with mean of zero and sd = 1
    """
    # initialize to array of zeros, with same shape as the image
    standardized_image = np.zeros(image.shape)

    # iterate over sequences
    for c in range(image.shape[0]):
        # iterate over the depth dimension
        for z in range(image.shape[1]):
            image_slice = image[c, z, :, :]

            # subtract the mean from image_slice
            centered = image_slice - np.mean(image_slice)

            # divide by the standard deviation (only if it is different from zero)
            if np.std(centered):
                centered_scaled = centered / np.std(centered)
                standardized_image[c, z, :, :] = centered_scaled
            else:
                standardized_image[c, z, :, :] = image_slice

    return standardized_image
